import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `planrouter simulate --pms opendental` end to end, as `scripts/demo` runs it: the workers,
/// `serve` and `connector opendental` as processes on the simulated clock with a private broker,
/// the Open Dental emulator in this process (so the test reads what the practices hold), and a
/// short month: two offices, two days, a handful of plans, everyone eager to book.
@Suite struct OpenDentalSimulationTests {
    /// What every process of a simulation test runs with: the database, the private broker, the
    /// simulated clock and the two HTTP surfaces on free ports.
    static func environment(url: String, brokers: String, publicPort: Int, staffPort: Int) -> [String: String] {
        [
            "PLANROUTER_DATABASE_URL": url, "PLANROUTER_KAFKA_BROKERS": brokers, "PLANROUTER_CLOCK": "simulated",
            // The mock broker holds every group join for session.timeout.ms - 1 s; it answers an empty fetch after fetch.wait.max.ms.
            "PLANROUTER_KAFKA_PROPERTIES": "session.timeout.ms=6000,fetch.wait.max.ms=10", "PLANROUTER_METRICS_PORT": "0",
            "PLANROUTER_BOOKING_SECRET": "simulation-test-secret-0123456789abcdef",
            "PLANROUTER_HTTP_PORT": "\(publicPort)", "PLANROUTER_STAFF_PORT": "\(staffPort)",
            "PLANROUTER_BOOKING_BASE_URL": "http://127.0.0.1:\(publicPort)", "PLANROUTER_STAFF_BASE_URL": "http://127.0.0.1:\(staffPort)",
        ]
    }

    @Test func aShortMonthThroughTheEmulatorLeavesOneCasePerSignedPlanAndEveryBookingInThePMS() async throws {
        let url = try await MigratedDatabase.fresh(prefix: "simod")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("simod-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let processes = Spawned(log: dir)
        defer { processes.stopAll() }

        let bootstrap = dir.appendingPathComponent("bootstrap")
        try processes.start(["dev-broker", "--bootstrap-file", bootstrap.path, "--partitions", "2"], env: [:])
        let brokers = try await waitForFile(bootstrap)
        let (publicPort, staffPort) = (try NotifyFixture.freePort(), try NotifyFixture.freePort())
        var env = Self.environment(url: url, brokers: brokers, publicPort: publicPort, staffPort: staffPort)
        env["PLANROUTER_CALENDAR_STALE_HOURS"] = "36"
        env["PLANROUTER_OPENDENTAL_DEVELOPER_KEY"] = "dev-key"
        let pool = PostgresPool(conninfo: url, size: 2, logger: testLogger)
        try await pool.withConnection { try await DatabaseClock.set(RFC3339.parse("2026-11-01T00:00:00Z")!, on: $0) }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        try await cli(["locations", "load", repo.appendingPathComponent("scripts/lib/demo-locations.yaml").path], env)
        // As scripts/demo: deposits after booking, so surgical bookings are confirmed (and written back) at once.
        let rules = try await cli(["rules", "defaults"], env).replacingOccurrences(
            of: "policy: deposit_to_confirm, hold: 2h", with: "policy: deposit_after_booking")
        let rulesFile = dir.appendingPathComponent("rules.yaml")
        try rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        try await cli(["rules", "load", rulesFile.path, "--organization", "org-sim"], env)
        let key = try #require(
            try await cli(["staff", "add-key", "--org", "org-sim", "--role", "coordinator", "--name", "sim"], env)
                .split(separator: "\n").first { $0.hasPrefix("key: ") }.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) })
        env["PLANROUTER_STAFF_API_KEY"] = key
        let environment = env

        let emulator = OpenDentalEmulator(developerKey: "dev-key")
        let app = OpenDentalServer.application(emulator, port: 0, logger: testLogger)
        try await app.test(.live) { client in
            let emulatorURL = "http://127.0.0.1:\(try #require(client.port))"
            let shape = [
                "--locations", "2", "--days", "2", "--plans", "8", "--seed", "11", "--pms", "opendental", "--opendental-url", emulatorURL,
            ]
            let offices = dir.appendingPathComponent("offices.yaml")
            let env = environment
            try await cli(["simulate"] + shape + ["--prepare-pms", offices.path, "--connector-poll-seconds", "0.2"], env)
            for kind in ["classifier", "offer", "escalation", "relay"] {
                try processes.start(["worker", kind, "--log-level", "error"], env: env)
            }
            try processes.start(["serve", "--log-level", "error"], env: env)
            try processes.start(["connector", "opendental", "--offices", offices.path, "--log-level", "error"], env: env)
            // The simulated patients book through serve's links and coordinators use its staff API: on a
            // loaded machine serve can take seconds to listen (a clean-clone run refused the first booking).
            try await waitForHealth("http://127.0.0.1:\(publicPort)/healthz")
            try await waitForHealth("http://127.0.0.1:\(staffPort)/healthz")

            let eager = [
                "accept_presented=1", "mean_hours_to_book_from_offer=1", "book_from_offer.surgical=1", "book_from_offer.restorative=1",
                "book_from_offer.aesthetic=1", "book_from_offer.add_on=1", "front_desk_share=0.3", "broken_share=0.05", "show_rate=1",
            ].flatMap { ["--param", $0] }
            let run = try await CLI.run(["simulate"] + shape + eager, env: env, timeout: .seconds(150))
            #expect(run.status == 0, "simulate failed: \(run.stderr.suffix(2000)) (process logs in \(dir.path))")
            #expect(run.stdout.contains("bookings that never reached the PMS     none"), "\(run.stdout)")

            // Every plan signed in the emulated PMS is exactly one case, and no case comes from anywhere else but
            // PlanRouter's own follow-up visits (a scaling and root planing's second quadrant, routed when the first is booked).
            var signed: Set<String> = []
            for office in ["sim-loc-1", "sim-loc-2"] {
                for p in (emulator.office("\(office)-key")?.treatPlans.values).map(Array.init) ?? [] where p.dateTSigned != nil {
                    signed.insert("\(office)-tp-\(p.treatPlanNum)")
                }
            }
            let cases = try await pool.withConnection {
                try await $0.query(
                    """
                    SELECT p.plan_id FROM plans p WHERE p.organization_id = 'org-sim'
                      AND NOT EXISTS (SELECT 1 FROM plan_visits v WHERE v.organization_id = p.organization_id AND v.follow_up_plan_id = p.plan_id)
                    """
                ).map { try $0.decode(0, as: String.self) }
            }
            #expect(!signed.isEmpty)
            #expect(Set(cases) == signed && cases.count == signed.count)

            // Every booking live in PlanRouter is an appointment the write-back made in that office, for that patient.
            let booked = try await pool.withConnection {
                try await $0.query(
                    """
                    SELECT r.plan_id, r.patient_id, w.office_id, w.pms_appointment_id
                    FROM reservations r LEFT JOIN pms_writebacks w
                      ON w.organization_id = r.organization_id AND w.plan_id = r.plan_id AND w.status = 'written'
                    WHERE r.organization_id = 'org-sim' AND r.kind = 'booking' AND r.active
                    """
                ).map {
                    (
                        plan: try $0.decode(0, as: String.self), patient: try $0.decode(1, as: String?.self),
                        office: try $0.decode(2, as: String?.self), appointment: try $0.decode(3, as: String?.self)
                    )
                }
            }
            #expect(!booked.isEmpty, "nobody booked: the test would prove nothing")
            let end = try await pool.withConnection { try await $0.query("SELECT now FROM sim_clock")[0].decode(0, as: Date.self) }
            for b in booked {
                let office = try #require(b.office, "booking of \(b.plan) has no written write-back")
                let aptNum = try #require(b.appointment.flatMap { Int64($0.dropFirst("\(office)-apt-".count)) })
                let apt = try #require(
                    emulator.office("\(office)-key")?.appointments[aptNum], "\(b.plan): no appointment \(aptNum) in the PMS")
                // Everyone shows up: an appointment whose start the month passed is Complete, set by the front desk.
                #expect(apt.aptStatus == (apt.aptDateTime <= end ? "Complete" : "Scheduled") && apt.note.contains("PlanRouter booking"))
                #expect(b.patient == "\(office)-pat-\(apt.patNum)")
            }
        }
        await pool.close()
    }

    @discardableResult
    func cli(_ args: [String], _ env: [String: String]) async throws -> String {
        let r = try await CLI.run(args, env: env, timeout: .seconds(60))
        try #require(r.status == 0, "planrouter \(args.joined(separator: " ")): \(r.stderr)")
        return r.stdout
    }

    /// Until `url` answers 200 (60 s at most).
    func waitForHealth(_ url: String) async throws {
        for _ in 0..<600 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url)!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }

    func waitForFile(_ file: URL) async throws -> String {
        for _ in 0..<300 {
            if let s = try? String(contentsOf: file, encoding: .utf8), !s.isEmpty {
                return s.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }
}

/// `planrouter` processes running until `stopAll()`, each with its output in a log file in `log`.
final class Spawned: Sendable {
    let log: URL
    let processes = Mutex<[ChildProcess.Spawned]>([])

    init(log: URL) { self.log = log }

    func start(_ args: [String], env: [String: String]) throws {
        let file = log.appendingPathComponent("\(args.prefix(2).joined(separator: "-")).log")
        let p = try CLI.start(args, env: env, output: file.path)
        processes.withLock { $0.append(p) }
    }

    /// SIGTERM to each, newest first, and waits for each to exit.
    func stopAll() {
        processes.withLock { all in
            for p in all.reversed() {
                p.terminate()
                p.waitUntilExit()
            }
        }
    }
}
