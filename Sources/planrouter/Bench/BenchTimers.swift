import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

struct BenchTimers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timers",
        abstract: "Escalation timer firings/s over a backlog of due timers, and firing lateness under a steady load.",
        discussion: """
            Creates a fresh database planrouter_bench_timers_<pid> on the server, inserts --timers due timers and runs \
            --workers escalation workers in this process (claim with FOR UPDATE SKIP LOCKED and a lease, complete, apply). \
            The timers belong to cases that are no longer open, so what is measured is the timer machinery \
            (claim, lease, complete, the case lookups of each action) and not message or task creation. \
            Then it schedules --steady-rate timers/s due over --steady-seconds and reports lateness (fired_at - due_at).
            """)

    @Option(help: "PostgreSQL server (URI or conninfo). Default: $PLANROUTER_DATABASE_URL.") var databaseURL: String?
    @Option(help: "Due timers in the backlog run.") var timers: Int = 1_000_000
    @Option(help: "Escalation workers in this process.") var workers: Int = 2
    @Option(help: "Timers claimed per round.") var batchSize: Int = 2000
    @Option(help: "Timers per second in the steady run (0 skips it).") var steadyRate: Int = 2000
    @Option(help: "Seconds of the steady run.") var steadySeconds: Int = 20

    func run() async throws {
        try await reportingErrors {
            var logger = Logger(label: "planrouter.bench.timers")
            logger.logLevel = .warning
            try await BenchDatabase.withFresh(
                "planrouter_bench_timers_\(ProcessInfo.processInfo.processIdentifier)", server: databaseURL, logger: logger
            ) { url in
                try await measure(url, logger: logger)
            }
        }
    }

    func measure(_ url: String, logger: Logger) async throws {
        let conn = try await PostgresConnection.connect(url, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        defer { conn.close() }
        _ = try await Migrator(logger: logger).migrate(on: conn)
        let pool = PostgresPool(conninfo: url, size: workers + 2, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        let offers = OfferPlanner(
            settings: OfferSettings(bookingBaseURL: "https://b.example", bookingSecret: "bench-secret-0123456789abcdef0123456789"))
        let escalation = (0..<workers).map { i in
            EscalationWorker(
                conninfo: url, pool: pool, offers: offers, clock: WallClock(),
                settings: EscalationSettings(batchSize: batchSize, lease: .seconds(60), pollInterval: .milliseconds(50)),
                workerID: "bench-\(i)",
                logger: logger)
        }
        func insert(_ n: Int, dueFrom start: Date, perSecond rate: Double?) async throws {
            // Steps of ladders of 500 cases per location; actions alternate nudge / coordinator task.
            _ = try await conn.execute(
                """
                INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
                SELECT 'org-bench', 'plan-' || g, 'loc-' || (g % 200), 'ladder', 1 + g % 3,
                       $2 + make_interval(secs => CASE WHEN $3 > 0 THEN g / $3 ELSE 0 END),
                       jsonb_build_object('action', CASE WHEN g % 3 = 2 THEN 'coordinator_task' ELSE 'nudge' END), $2
                FROM generate_series(1, $1) AS g
                """, n, start, rate ?? 0)
        }
        let clock = ContinuousClock()
        benchPrint("backlog run: inserting \(timers) due timers")
        try await insert(timers, dueFrom: Date().addingTimeInterval(-60), perSecond: nil)
        _ = try await conn.execute("VACUUM ANALYZE timers")
        let start = clock.now
        let tasks = escalation.map { w in Task { try await w.run() } }
        var last = clock.now
        while true {
            try await Task.sleep(for: .milliseconds(200))
            let fired = escalation.map(\.stats.fired).reduce(0, +)
            if clock.now - last >= .seconds(1) {
                last = clock.now
                FileHandle.standardError.write(Data("  \(String(format: "%.1f", (clock.now - start).seconds)) s: fired \(fired)\n".utf8))
            }
            if fired >= timers { break }
        }
        let seconds = (clock.now - start).seconds
        benchPrint(
            String(
                format: "backlog: %d timers fired by %d workers in %.2f s = %.0f firings/s", timers, workers, seconds,
                Double(timers) / seconds))

        if steadyRate > 0 {
            let n = steadyRate * steadySeconds
            let begin = Date().addingTimeInterval(1)
            benchPrint("steady run: \(steadyRate) timers/s due over \(steadySeconds) s")
            try await insert(n, dueFrom: begin, perSecond: Double(steadyRate))
            let target = timers + n
            while escalation.map(\.stats.fired).reduce(0, +) < target { try await Task.sleep(for: .milliseconds(200)) }
            let row = try await conn.query(
                """
                SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
                FROM (SELECT extract(epoch FROM fired_at - due_at) * 1000 AS l FROM timers WHERE due_at >= $1) x
                """, begin)[0]
            benchPrint(
                String(
                    format: "steady: lateness p50 %.0f ms, p99 %.0f ms, max %.0f ms (fired_at - due_at; workers also poll every 50 ms)",
                    try row.decode(0, as: Double.self), try row.decode(1, as: Double.self), try row.decode(2, as: Double.self)))
        }
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        await pool.close()
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
