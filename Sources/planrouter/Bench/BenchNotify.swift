import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

struct BenchNotify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract:
            "Message deliveries/s through the Twilio emulator (over HTTP, with a set latency), and due-to-accepted latency at a steady rate.",
        discussion: """
            Creates a fresh database planrouter_bench_notify_<pid>, starts the Twilio emulator in this process on \
            --emulator-port with --latency-ms per call, and runs --senders notify senders (claim with FOR UPDATE SKIP LOCKED \
            and a lease, provider call, outcome transaction). Backlog run: --messages queued deliveries, each to its own \
            number. Steady run: --steady-rate deliveries/s become due over --steady-seconds; reports the time from due \
            (send_after) to Twilio's acceptance recorded (sent_at). Kafka and the relay are not in the path: see \
            docs/benchmarks.md for what they add.
            """)

    @Option(help: "PostgreSQL server (URI or conninfo). Default: $PLANROUTER_DATABASE_URL.") var databaseURL: String?
    @Option(help: "Queued deliveries in the backlog run.") var messages: Int = 5000
    @Option(help: "Notify senders in this process.") var senders: Int = 1
    @Option(help: "Provider calls in flight per sender.") var concurrency: Int = 16
    @Option(help: "Milliseconds the emulator adds to each Messages API call.") var latencyMs: Int = 50
    @Option(help: "The sender number's rate limit, messages/s.") var ratePerSecond: Double = 10_000
    @Option(help: "Deliveries per second in the steady run (0 skips it).") var steadyRate: Int = 200
    @Option(help: "Seconds of the steady run.") var steadySeconds: Int = 20
    @Option(help: "Port of the in-process Twilio emulator.") var emulatorPort: Int = 18099

    func run() async throws {
        try await reportingErrors {
            var logger = Logger(label: "planrouter.bench.notify")
            logger.logLevel = .warning
            try await BenchDatabase.withFresh(
                "planrouter_bench_notify_\(ProcessInfo.processInfo.processIdentifier)", server: databaseURL, logger: logger
            ) { url in
                try await measure(url, logger: logger)
            }
        }
    }

    func measure(_ url: String, logger: Logger) async throws {
        let conn = try await PostgresConnection.connect(url, logger: logger)
        defer { conn.close() }
        _ = try await Migrator(logger: logger).migrate(on: conn)
        let emulator = TwilioEmulator(
            settings: TwilioEmulatorSettings(accounts: ["ACbench": "bench-token"], latency: .milliseconds(latencyMs)), logger: logger)
        let emulatorTask = Task { try await emulator.serve(host: "127.0.0.1", port: emulatorPort) }
        defer { emulatorTask.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        let configuration = MessagingConfiguration(organizations: [
            "org-bench": .init(
                practiceName: "Bench Dental",
                sms: .init(
                    accountSID: "ACbench", authToken: "bench-token", from: "+15005550006", apiBaseURL: "http://127.0.0.1:\(emulatorPort)",
                    ratePerSecond: ratePerSecond))
        ])
        let pool = PostgresPool(conninfo: url, size: senders * 2 + 2, logger: logger)
        let workers = (0..<senders).map { i in
            NotifySender(
                pool: pool, adapters: ChannelAdapters(configuration: configuration), clock: WallClock(),
                settings: NotifySettings(batchSize: 200, pollInterval: .milliseconds(20), concurrency: concurrency), workerID: "bench-\(i)",
                logger: logger)
        }
        _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-bench')")
        _ = try await conn.execute("INSERT INTO locations (id, organization_id) VALUES ('loc-bench', 'org-bench')")
        _ = try await conn.execute(
            """
            INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                               total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
            VALUES ('org-bench', 'plan-bench', 'loc-bench', 'pat-1', 'prov-1', now(), 'chair', 100000, '{}', 'offered', 'bench', 'b', now(), now())
            """)
        func insert(_ n: Int, offset: Int, dueFrom start: Date, perSecond rate: Double) async throws {
            _ = try await conn.execute(
                """
                INSERT INTO message_deliveries (organization_id, message_id, event_source, event_id, plan_id, location_id, patient_id, kind,
                                                channel, recipient, body, send_after, next_attempt_at, created_at, updated_at)
                SELECT 'org-bench', 'msg-' || g, 'bench', 'evt-' || g, 'plan-bench', 'loc-bench', 'pat-1', 'nudge', 'sms',
                       '+1555' || lpad(g::text, 7, '0'), 'Bench Dental: your openings. Book: https://book.example.com/book/' || g,
                       d, d, $2, $2
                FROM generate_series($4 + 1, $4 + $1) AS g,
                     LATERAL (SELECT $2 + make_interval(secs => CASE WHEN $3 > 0 THEN (g - $4) / $3 ELSE 0 END)) AS t(d)
                """, n, start, rate, offset)
        }
        func sent() async throws -> Int {
            try await conn.query("SELECT count(*)::int8 FROM message_deliveries WHERE status = 'sent'")[0].decode(0, as: Int.self)
        }
        let clock = ContinuousClock()
        benchPrint(
            "backlog run: \(messages) queued deliveries, \(senders) sender(s) x \(concurrency) in flight, emulator latency \(latencyMs) ms")
        try await insert(messages, offset: 0, dueFrom: Date().addingTimeInterval(-1), perSecond: 0)
        let start = clock.now
        let tasks = workers.map { w in Task { try await w.run() } }
        while try await sent() < messages { try await Task.sleep(for: .milliseconds(100)) }
        let seconds = (clock.now - start).benchSeconds
        benchPrint(
            String(format: "backlog: %d messages accepted in %.2f s = %.0f messages/s", messages, seconds, Double(messages) / seconds))
        if steadyRate > 0 {
            let n = steadyRate * steadySeconds
            let begin = Date().addingTimeInterval(1)
            benchPrint("steady run: \(steadyRate) deliveries/s due over \(steadySeconds) s")
            try await insert(n, offset: messages, dueFrom: begin, perSecond: Double(steadyRate))
            while try await sent() < messages + n { try await Task.sleep(for: .milliseconds(200)) }
            let row = try await conn.query(
                """
                SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l)
                FROM (SELECT extract(epoch FROM sent_at - send_after) * 1000 AS l FROM message_deliveries WHERE send_after >= $1) x
                """, begin)[0]
            benchPrint(
                String(
                    format: "steady: due -> accepted p50 %.0f ms, p99 %.0f ms, max %.0f ms (senders poll every 20 ms)",
                    try row.decode(0, as: Double.self), try row.decode(1, as: Double.self), try row.decode(2, as: Double.self)))
        }
        benchPrint("provider create calls: \(await emulator.state.createCalls) for \(try await sent()) deliveries")
        for t in tasks { t.cancel() }
        for t in tasks { _ = try? await t.value }
        await pool.close()
    }
}

extension Duration {
    fileprivate var benchSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
