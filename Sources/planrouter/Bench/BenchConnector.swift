import ArgumentParser
import Foundation
import Logging
import PlanRouterConnectors
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterStore
import ServiceLifecycle

struct BenchConnector: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "The Open Dental connector against the emulator over HTTP: catch-up events/s, requests per office, write-back latency.",
        discussion: """
            Creates a fresh database planrouter_bench_<pid> (--keep keeps it), starts the Open Dental emulator in this process \
            on --emulator-port with --latency-ms per request, seeds --offices offices with --plans signed plans each, and runs \
            the real connector (one loop per office, watermarks and outbox in PostgreSQL) until every plan is one \
            plan.accepted in the outbox: events/s, time to catch up, requests per office, CPU of this process (emulator \
            included). Then polls of every office with nothing new: one right after the burst (still inside the poller's \
            one-hour overlap, so it reads the burst again), and --idle-rounds once the burst is more than an hour older than \
            the office's last change; requests per office per hour are those polls extrapolated to the cadence \
            (--poll-seconds, --reference-seconds). Last, --writebacks \
            pms.appointment-requests recorded at --writeback-rate/s (as the write-back consumer records them) and written \
            into the emulator by the write-back worker: request -> appointment created, and -> appointment.changed recorded.
            """)

    @Option(help: "PostgreSQL server (URI or conninfo). Default: $PLANROUTER_DATABASE_URL.") var databaseURL: String?
    @Option(help: "Emulated offices, one connector loop each.") var offices: Int = 100
    @Option(help: "Signed plans per office (one patient each: a crown and a core buildup).") var plans: Int = 1000
    @Option(help: "Milliseconds the emulator adds to every API request.") var latencyMs: Int = 20
    @Option(help: "The offices' cadence for plans and appointments, seconds (for the per-hour figure).") var pollSeconds: Int = 60
    @Option(help: "The offices' cadence for schedules, providers, operatories, seconds.") var referenceSeconds: Int = 900
    @Option(help: "Idle polls of every office once quiet (right after the burst: one, it re-reads the whole burst).")
    var idleRounds: Int = 3
    @Option(help: "Write-back requests (0 skips the write-back run).") var writebacks: Int = 1000
    @Option(help: "Write-back requests per second.") var writebackRate: Double = 10
    @Option(help: "Port of the in-process Open Dental emulator.") var emulatorPort: Int = 18098
    @Flag(help: "Keep the database afterwards.") var keep = false

    func validate() throws {
        guard offices >= 1, plans >= 1, idleRounds >= 1, pollSeconds >= 1, referenceSeconds >= 1, writebackRate > 0 else {
            throw ValidationError("--offices, --plans, --idle-rounds, the cadences and --writeback-rate must be positive")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var logger = Logger(label: "planrouter.bench.connector")
            logger.logLevel = .warning
            try await BenchDatabase.withFresh(
                "planrouter_bench_\(ProcessInfo.processInfo.processIdentifier)", server: databaseURL, keep: keep, logger: logger
            ) { url in
                try await measure(url, logger: logger)
            }
        }
    }

    /// One emulated office as both sides see it.
    struct Seeded {
        var office: OpenDentalOffice
        var dentist: Int64
        var operatory: Int64
        var plans: [(patNum: Int64, treatPlanNum: Int64)]
    }

    func measure(_ url: String, logger: Logger) async throws {
        let zone = TimeZone(identifier: "America/New_York")!
        let emulator = OpenDentalEmulator(developerKey: "bench-dev")
        let seedStart = ContinuousClock.now
        try OpenDentalSeed.seed(emulator, offices: offices, timeZone: zone, from: Date())
        let seeded = try (1...offices).map { i in
            let key = "office-\(i)-key"
            guard let o = emulator.office(key), let dentist = o.providers.values.first(where: { !$0.isSecondary })?.provNum,
                let op = o.operatories.values.first(where: { $0.provDentist == dentist })?.operatoryNum
            else { throw CLIError("seeding office \(i) failed") }
            return Seeded(
                office: OpenDentalOffice(
                    id: "office-\(i)", organizationID: "org-bench", customerKey: key, timeZone: zone, clinics: [0: "loc-\(i)"],
                    pollInterval: .seconds(pollSeconds), referenceInterval: .seconds(referenceSeconds)),
                dentist: dentist, operatory: op,
                plans: try OpenDentalSeed.signedPlans(emulator, office: key, count: plans, provNum: dentist))
        }
        benchPrint(
            String(
                format: "emulator: %d offices x %d signed plans seeded in %.1f s; %d ms per request, pages of %d", offices, plans,
                (ContinuousClock.now - seedStart).seconds, latencyMs, OpenDentalEmulator.pageSize))

        // Quiet: stopping the server at the end logs the cancelled connections as errors.
        var serverLogger = logger
        serverLogger.logLevel = .critical
        let app = OpenDentalServer.application(emulator, port: emulatorPort, latency: .milliseconds(latencyMs), logger: serverLogger)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        let base = "http://127.0.0.1:\(emulatorPort)/api/v1"
        let clients = Dictionary(
            uniqueKeysWithValues: seeded.map {
                ($0.office.id, OpenDentalClient(baseURL: base, developerKey: "bench-dev", customerKey: $0.office.customerKey))
            })

        let conn = try await PostgresConnection.connect(url, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        defer { conn.close() }
        _ = try await Migrator(logger: logger).migrate(on: conn)
        let pool = PostgresPool(conninfo: url, size: 8, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        let health = ConnectorHealth(telemetry: nil)
        let pollers = seeded.map {
            OfficePoller(office: $0.office, client: clients[$0.office.id]!, pool: pool, clock: WallClock(), logger: logger)
        }
        let probe = Probe(emulator: emulator, conn: conn)

        try await catchUp(pollers, pool: pool, health: health, probe: probe, logger: logger)
        let burst = try await idle(1, pollers, probe: probe, label: "right after the burst (its changes inside the 1 h overlap)")
        let reference = try await rounds(1, pollers, probe: probe) { try await $0.pollReference().events }
        benchPrint(
            String(format: "reference poll (schedules, providers, operatories): %.1f requests per office", reference.requestsPerOffice))
        // A quiet office: its last change is more than the overlap old. One new plan presented and
        // one front-desk booking two hours later move every watermark past the burst.
        let later = Date().addingTimeInterval(2 * 3600)
        emulator.setNow(later)
        for s in seeded {
            let pat = try emulator.addPatient(s.office.customerKey, lName: "Bench", fName: "Later")
            try emulator.presentPlan(
                s.office.customerKey, patNum: pat, provNum: s.dentist,
                procedures: [.init(code: "D1110", descript: "prophylaxis - adult", fee: 95)])
            try emulator.book(
                s.office.customerKey, patNum: pat, op: s.operatory, provNum: s.dentist, at: later.addingTimeInterval(86_400),
                pattern: "XXXX")
        }
        _ = try await rounds(1, pollers, probe: probe) { try await $0.pollChanges().events }
        emulator.setNow(Date().addingTimeInterval(3 * 3600))
        let quiet = try await idle(
            idleRounds, pollers, probe: probe, label: "quiet office (the burst more than 1 h before its last change)")
        emulator.setNow(nil)
        for (name, r) in [("after a burst", burst), ("quiet", quiet)] {
            let perHour = r.requestsPerOffice * 3600 / Double(pollSeconds) + reference.requestsPerOffice * 3600 / Double(referenceSeconds)
            benchPrint(
                String(
                    format:
                        "requests per office per hour, %@: %.0f (= %.1f per changes poll x %d polls/h + %.1f per reference poll x %.1f/h)",
                    name, perHour, r.requestsPerOffice, 3600 / pollSeconds, reference.requestsPerOffice, 3600 / Double(referenceSeconds)))
        }
        if writebacks > 0 { try await writeBack(seeded, clients: clients, pool: pool, health: health, probe: probe, logger: logger) }
        await pool.close()
    }

    /// What the bench reads back: the emulator's request counts and the outbox.
    struct Probe: Sendable {
        let emulator: OpenDentalEmulator
        let conn: PostgresConnection

        var requests: Int { emulator.requestCounts().values.reduce(0, +) }

        func outbox(_ topic: String) async throws -> Int {
            try await conn.query("SELECT count(*)::int8 FROM outbox WHERE topic = $1", topic)[0].decode(0, as: Int.self)
        }
    }

    func catchUp(_ pollers: [OfficePoller], pool: PostgresPool, health: ConnectorHealth, probe: Probe, logger: Logger) async throws {
        let total = offices * plans
        let connector = OpenDentalConnector(pollers: pollers, pool: pool, clock: WallClock(), health: health, logger: logger)
        let cpu = ProcessCPU.now
        let start = ContinuousClock.now
        let running = Task { try await connector.run() }
        // Progress is events or requests: an office's first poll reads all its plans before it commits
        // any, which at 1,000 plans an office is minutes of requests with no event yet.
        var last = (count: -1, requests: -1, at: ContinuousClock.now)
        while true {
            let n = try await probe.outbox("plan.accepted")
            if n >= total { break }
            if n != last.count || probe.requests != last.requests {
                last = (n, probe.requests, .now)
            } else if ContinuousClock.now - last.at > .seconds(120) {
                running.cancel()
                throw CLIError("catch-up stalled at \(n) of \(total) plan.accepted for 120 s (no event and no request)")
            }
            FileHandle.standardError.write(Data("  catch-up: \(n) of \(total) plan.accepted, \(probe.requests) requests\n".utf8))
            try await Task.sleep(for: .seconds(1))
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpuSeconds = ProcessCPU.now - cpu
        running.cancel()
        _ = try? await running.value
        let requests = probe.requests
        let row = try await probe.conn.query(
            """
            SELECT count(*)::int8, count(DISTINCT d #>> '{data,patient,id}')::int8, count(DISTINCT d #>> '{data,plan_id}')::int8
            FROM (SELECT convert_from(payload, 'UTF8')::jsonb AS d FROM outbox WHERE topic = 'plan.accepted') x
            """)[0]
        let (events, patients, planIDs) = (
            try row.decode(0, as: Int.self), try row.decode(1, as: Int.self), try row.decode(2, as: Int.self)
        )
        let letters = try await probe.conn.query("SELECT count(*)::int8 FROM outbox WHERE topic LIKE '%.dlq'")[0].decode(0, as: Int.self)
        benchPrint(
            String(
                format: "catch-up: %d plan.accepted in %.2f s = %.0f events/s; %d HTTP requests (%.1f per office, %.1f per plan)",
                events, seconds, Double(events) / seconds, requests, Double(requests) / Double(offices), Double(requests) / Double(total)))
        benchPrint(
            String(
                format: "catch-up CPU of this process (connector + emulator + HTTP both sides): %.2f s = %.3f ms per event",
                cpuSeconds, cpuSeconds * 1000 / Double(events)))
        let exact = events == total && patients == total && planIDs == total && letters == 0
        benchPrint(
            "check: \(patients) of \(total) patients with a plan.accepted, \(events) events for \(planIDs) plans, \(letters) dead letters: "
                + (exact ? "none missed, none doubled" : "MISMATCH"))
        guard exact else { throw CLIError("plans missed or doubled") }
    }

    struct Rounds {
        var requestsPerOffice: Double
        var events: Int
        var seconds: Double
    }

    /// `count` rounds of `poll` on every office at once; requests per office per round.
    func rounds(
        _ count: Int, _ pollers: [OfficePoller], probe: Probe, poll: @escaping @Sendable (OfficePoller) async throws -> Int
    )
        async throws -> Rounds
    {
        let before = probe.requests
        let start = ContinuousClock.now
        var events = 0
        for _ in 0..<count {
            events += try await withThrowingTaskGroup(of: Int.self) { group in
                for p in pollers { group.addTask { try await poll(p) } }
                return try await group.reduce(0, +)
            }
        }
        return Rounds(
            requestsPerOffice: Double(probe.requests - before) / Double(count * pollers.count), events: events,
            seconds: (ContinuousClock.now - start).seconds / Double(count))
    }

    func idle(_ count: Int, _ pollers: [OfficePoller], probe: Probe, label: String) async throws -> Rounds {
        let r = try await rounds(count, pollers, probe: probe) { try await $0.pollChanges().events }
        benchPrint(
            String(
                format: "idle changes polls, %@: %.1f requests per office per poll, %.2f s per round of all offices, %d new events",
                label, r.requestsPerOffice, r.seconds, r.events))
        return r
    }

    func writeBack(
        _ seeded: [Seeded], clients: [String: OpenDentalClient], pool: PostgresPool, health: ConnectorHealth, probe: Probe, logger: Logger
    ) async throws {
        let worker = WritebackWorker(
            offices: seeded.map(\.office), clients: clients, pool: pool, clock: WallClock(), health: health, logger: logger)
        let running = Task { try await worker.run() }
        defer { running.cancel() }
        let changedBefore = try await probe.outbox("appointment.changed")
        let requestsBefore = probe.requests
        benchPrint(
            String(
                format: "write-back run: %d requests at %.0f/s over %d offices, one write-back worker", writebacks, writebackRate, offices))
        var sentAt: [String: Date] = [:]
        let start = ContinuousClock.now
        for i in 0..<writebacks {
            let due = start + .milliseconds(Int64(Double(i) * 1000 / writebackRate))
            if due > .now { try await Task.sleep(until: due) }
            let s = seeded[i % seeded.count]
            let slot = i / seeded.count
            let plan = s.plans[slot % s.plans.count]
            // Distinct times in the office's one operatory: 08:00–15:00 on the following days.
            let day = LocalTimestamp(Date(), in: s.office.timeZone).adding(seconds: Int64(1 + slot / 8) * 86_400).dateText
            guard let begin = LocalTimestamp(String(format: "%@ %02d:00:00", day, 8 + slot % 8)),
                let location = s.office.location(clinic: 0)
            else { throw CLIError("bad slot time") }
            let startAt = begin.instant(in: s.office.timeZone)
            let now = Date()
            let request = AppointmentRequest(
                requestID: "bench-req-\(i)", organizationID: s.office.organizationID, locationID: location,
                planID: s.office.planID(plan.treatPlanNum), patientID: s.office.patientID(plan.patNum),
                providerID: s.office.providerID(s.dentist), operatoryID: s.office.operatoryID(s.operatory),
                start: OffsetDateTime(startAt, in: s.office.timeZone),
                end: OffsetDateTime(startAt.addingTimeInterval(3600), in: s.office.timeZone),
                procedureCodes: ["D2740", "D2950"], bookedVia: .link, bookedAt: now)
            sentAt[request.requestID] = now
            _ = try await pool.withTransaction { tx in
                try await WritebacksRepository.record(
                    [NewWriteback(request: request, eventID: "bench-evt-\(i)", connector: "opendental", officeID: s.office.id)], now: now,
                    on: tx)
            }
            if i % max(1, Int(writebackRate)) == 0 {
                FileHandle.standardError.write(Data("  write-back: \(i + 1) of \(writebacks) requested\n".utf8))
            }
        }
        var last = (count: -1, at: ContinuousClock.now)
        while true {
            let done = try await probe.conn.query("SELECT count(*)::int8 FROM pms_writebacks WHERE status <> 'pending'")[0].decode(
                0, as: Int.self)
            if done >= writebacks { break }
            if done != last.count {
                last = (done, .now)
            } else if ContinuousClock.now - last.at > .seconds(60) {
                throw CLIError("write-back stalled at \(done) of \(writebacks) for 60 s")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let rows = try await probe.conn.query(
            "SELECT request_id, status, extract(epoch FROM updated_at - created_at)::float8 * 1000 FROM pms_writebacks")
        var recorded: [Double] = []
        var refused = 0
        for r in rows {
            if try r.decode(1, as: String.self) == "written" { recorded.append(try r.decode(2, as: Double.self)) } else { refused += 1 }
        }
        var created: [Double] = []
        for s in seeded {
            for a in probe.emulator.scheduledAppointments(s.office.customerKey) {
                guard let r = a.note.range(of: WritebackWorker.markerPrefix),
                    let sent = sentAt[String(a.note[r.upperBound...])]
                else { continue }
                created.append(a.dateTStamp.timeIntervalSince(sent) * 1000)
            }
        }
        let changed = try await probe.outbox("appointment.changed") - changedBefore
        benchPrint(
            String(
                format:
                    "write-back: %d written, %d refused, %d appointments found in the emulator, %d appointment.changed; %.1f HTTP requests each",
                recorded.count, refused, created.count, changed, Double(probe.requests - requestsBefore) / Double(max(1, writebacks))))
        benchPrint("request -> appointment created in the PMS: " + Percentiles(created).summary)
        benchPrint("request -> appointment.changed recorded (row closed, event in the outbox): " + Percentiles(recorded).summary)
    }
}

/// p50/p99/max of a set of milliseconds.
struct Percentiles {
    let sorted: [Double]
    init(_ values: [Double]) { sorted = values.sorted() }

    func at(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }

    var summary: String {
        String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d)", at(0.5), at(0.99), sorted.last ?? .nan, sorted.count)
    }
}

/// CPU seconds (user + system) this process has used: steadier than wall time on a shared machine.
enum ProcessCPU {
    static var now: Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
