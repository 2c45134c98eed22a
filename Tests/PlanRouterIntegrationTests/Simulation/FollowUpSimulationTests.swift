import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// `planrouter simulate --pms events` over two weeks of add-on plans only (scaling and root planing
/// is two quadrants a week apart, a series): booking the first quadrant routes the second as a
/// follow-up case inside the month, and the outcome counts it.
@Suite struct FollowUpSimulationTests {
    /// Runs `planrouter simulate --pms events` over two weeks of add-on plans only on a fresh database and
    /// its own broker and workers, every patient booking the first offer (`extra` parameters on top);
    /// returns the run and a pool on its database (the caller closes it).
    func simulate(prefix: String, _ extra: [String]) async throws -> (run: CLI.Result, pool: PostgresPool) {
        let url = try await MigratedDatabase.fresh(prefix: prefix)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let processes = Spawned(log: dir)
        defer { processes.stopAll() }
        let helpers = OpenDentalSimulationTests()

        let bootstrap = dir.appendingPathComponent("bootstrap")
        try processes.start(["dev-broker", "--bootstrap-file", bootstrap.path, "--partitions", "2"], env: [:])
        let brokers = try await helpers.waitForFile(bootstrap)
        let (publicPort, staffPort) = (try NotifyFixture.freePort(), try NotifyFixture.freePort())
        var env = OpenDentalSimulationTests.environment(url: url, brokers: brokers, publicPort: publicPort, staffPort: staffPort)
        let pool = PostgresPool(conninfo: url, size: 2, logger: testLogger)
        try await pool.withConnection { try await DatabaseClock.set(RFC3339.parse("2026-11-01T00:00:00Z")!, on: $0) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        try await helpers.cli(["locations", "load", repo.appendingPathComponent("scripts/lib/demo-locations.yaml").path], env)
        let rulesFile = dir.appendingPathComponent("rules.yaml")
        try await helpers.cli(["rules", "defaults"], env).write(to: rulesFile, atomically: true, encoding: .utf8)
        try await helpers.cli(["rules", "load", rulesFile.path, "--organization", "org-sim"], env)
        let key = try #require(
            try await helpers.cli(["staff", "add-key", "--org", "org-sim", "--role", "coordinator", "--name", "sim"], env)
                .split(separator: "\n").first { $0.hasPrefix("key: ") }.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) })
        env["PLANROUTER_STAFF_API_KEY"] = key
        for kind in ["classifier", "offer", "escalation", "relay"] {
            try processes.start(["worker", kind, "--log-level", "error"], env: env)
        }
        try processes.start(["serve", "--log-level", "error"], env: env)
        try await helpers.waitForHealth("http://127.0.0.1:\(publicPort)/healthz")
        try await helpers.waitForHealth("http://127.0.0.1:\(staffPort)/healthz")

        let params = [
            "accept_presented=1", "tier_mix.surgical=0", "tier_mix.restorative=0", "tier_mix.aesthetic=0", "tier_mix.add_on=1",
            "book_from_offer.add_on=1", "mean_hours_to_book_from_offer=1", "front_desk_share=0", "decline_share=0",
        ].flatMap { ["--param", $0] }
        let run = try await CLI.run(
            ["simulate", "--locations", "2", "--days", "14", "--plans", "10", "--seed", "7", "--pms", "events"] + params
                + extra.flatMap { ["--param", $0] }, env: env, timeout: .seconds(300))
        #expect(run.status == 0, "simulate failed: \(run.stderr.suffix(2000)) (process logs in \(dir.path))")
        return (run, pool)
    }

    @Test func aBookedFirstQuadrantRoutesTheSecondAsAFollowUpThatTheOutcomeCounts() async throws {
        // Every patient shows up: the second quadrant of each scaling and root planing is routed when the first is booked.
        let (run, pool) = try await simulate(prefix: "simfu", ["show_rate=1"])
        let routed = try await pool.withConnection {
            try await $0.query(
                """
                SELECT v.follow_up_plan_id, v.kind FROM plan_visits v
                JOIN plans p ON p.organization_id = v.organization_id AND p.plan_id = v.follow_up_plan_id
                WHERE v.organization_id = 'org-sim' AND v.routed_at IS NOT NULL
                """
            ).map { (plan: try $0.decode(0, as: String.self), kind: try $0.decode(1, as: String.self)) }
        }
        #expect(!routed.isEmpty, "no follow-up case was routed: \(run.stdout)")
        #expect(routed.allSatisfy { $0.plan.hasSuffix("/visit-2") && $0.kind == "staged" })
        // The outcome counts exactly the routed follow-ups in its re-booked row.
        let row = try #require(run.stdout.split(separator: "\n").first { $0.contains("recall/follow-up re-booked") }, "\(run.stdout)")
        #expect(row.contains("of \(routed.count) follow-up cases routed"), "\(row)")
        #expect(run.stdout.contains(" 0 no-shows"), "\(run.stdout)")
        await pool.close()
    }

    /// No patient shows up (`show_rate=0`): each booked appointment whose start passes is broken in the simulated
    /// PMS (`appointment.changed` broken), the lifecycle re-opens its case to a coordinator, and the outcome counts both.
    @Test func aNoShowIsABrokenAppointmentThatReopensTheCaseToACoordinator() async throws {
        let (run, pool) = try await simulate(prefix: "simns", ["show_rate=0"])
        let row = try #require(run.stdout.split(separator: "\n").first { $0.contains("no-shows") }, "\(run.stdout)")
        let numbers = row.split { !$0.isNumber }.compactMap { Int($0) }
        // "appointments: <kept> kept, <no-shows> no-shows (show_rate 0.0), broken in the PMS; <re-opened> cases re-opened …"
        try #require(numbers.count >= 5, "\(row)")
        let (kept, noShows, reopened) = (numbers[0], numbers[1], numbers[4])
        #expect(kept == 0 && noShows > 0 && reopened > 0 && reopened <= noShows, "\(row)")
        let (tasks, reopenedEver, completed) = try await pool.withConnection { conn in
            (
                try await conn.query(
                    """
                    SELECT count(*)::int8 FROM coordinator_tasks
                    WHERE organization_id = 'org-sim' AND reason = 'the booked appointment was broken in the PMS'
                    """)[0].decode(0, as: Int64.self),
                try await conn.query(
                    """
                    SELECT count(*)::int8 FROM plan_events
                    WHERE organization_id = 'org-sim' AND kind = 'reopened' AND detail->>'reason' = 'the booked appointment was broken in the PMS'
                    """)[0].decode(0, as: Int64.self),
                try await conn.query("SELECT count(*)::int8 FROM reservations WHERE organization_id = 'org-sim' AND status = 'completed'")[
                    0
                ]
                .decode(0, as: Int64.self)
            )
        }
        // One task per re-opened case. The outcome counts the re-openings inside the simulated
        // period; one broken as the run drains (on a loaded machine) falls after it.
        #expect(tasks == reopenedEver)
        #expect(Int64(reopened) <= reopenedEver, "\(row)")
        #expect(completed == 0)
        await pool.close()
    }
}
