import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// A real broker (librdkafka's mock cluster over TCP) with PlanRouter's topics and a
/// fresh migrated PostgreSQL database, plus helpers to run workers against them.
final class PipelineHarness: Sendable {
    let cluster: KafkaMockCluster
    let databaseURL: String
    let pool: PostgresPool
    let topics = TopicNames()
    let partitions: Int

    /// Consumer settings the mock cluster needs: rebalances wait session.timeout.ms - 1 s.
    static let consumerProperties = ["session.timeout.ms": "4000", "heartbeat.interval.ms": "1000"]

    init(partitions: Int = 3) async throws {
        cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        self.partitions = partitions
        for t in TopicNames().all { try cluster.createTopic(t, partitions: partitions) }
        databaseURL = try await MigratedDatabase.fresh()
        pool = PostgresPool(conninfo: databaseURL, size: 4, logger: testLogger)
    }

    func close() async {
        await pool.close()
        cluster.close()
    }

    func producer(_ extra: [String: String] = [:]) throws -> KafkaProducer {
        try KafkaProducer(bootstrapServers: cluster.bootstrapServers, properties: extra, logger: testLogger)
    }

    /// Publishes raw values to a topic keyed by a location, waiting for every delivery report.
    func publish(_ values: [[UInt8]], topic: String? = nil, key: String = "loc-12", producerProperties: [String: String] = [:]) async throws
    {
        let p = try producer(producerProperties)
        let results = await p.sendBatch(
            values.map {
                KafkaOutgoingMessage(topic: topic ?? topics[.planAccepted], key: Array(key.utf8), value: $0)
            })
        await p.close()
        for r in results { _ = try r.get() }
    }

    func publish(events: [JSONValue], topic: String? = nil) async throws {
        try await publish(events.map { $0.serializedBytes() }, topic: topic)
    }

    /// Publishes schedule.changed events and applies them to the mirror at once (as
    /// `availability import` does). A worker consuming both the schedule and plan topics may
    /// fetch a plan before a schedule published earlier (partitions are read concurrently), so
    /// tests that need the calendar in place before the first offer must not rely on a sleep.
    /// The worker later skips the same events as an older schedule version.
    func publishSchedule(events: [JSONValue], now: Date = Date()) async throws {
        let decoded = try events.map { e throws(EventRejection) in try EventValidator.shared.decode(e, expecting: [.scheduleChanged]) }
        let (_, rejected) = try await AvailabilityImport(pool: pool).apply(decoded, now: now)
        #expect(rejected.isEmpty, "schedule rejected: \(rejected)")
        try await publish(events: events, topic: topics[.scheduleChanged])
    }

    func consumer(group: String, topics: [String]) throws -> KafkaConsumer {
        try KafkaConsumer(
            bootstrapServers: cluster.bootstrapServers, groupID: group, topics: topics, properties: Self.consumerProperties,
            logger: testLogger)
    }

    func classifier(group: String = "classifier", telemetry: WorkerTelemetry? = nil) throws -> ConsumerWorker<ClassifierHandler> {
        ConsumerWorker(
            consumer: try consumer(group: group, topics: [topics[.planAccepted], topics[.planChanged], topics[.planPresented]]), pool: pool,
            handler: ClassifierHandler(consumerName: group, settings: Self.anyAcceptanceTime), clock: WallClock(), telemetry: telemetry,
            logger: testLogger)
    }

    /// The test events carry fixed dates (2026-11/12) that the default acceptance window
    /// (1 day ahead of the wall clock, 2 years back) would refuse on some days; tests of the
    /// window build their own handler.
    static let anyAcceptanceTime = ClassifierSettings(
        acceptanceWindow: AcceptanceWindow(maximumLead: .seconds(20 * 365 * 86_400), maximumAge: .seconds(20 * 365 * 86_400)))

    static let bookingSecret = "test-booking-secret-0123456789abcdef"

    func offer(group: String = "offer", clock: any PlanRouterClock = WallClock()) throws -> ConsumerWorker<OfferHandler> {
        ConsumerWorker(
            consumer: try consumer(group: group, topics: [topics[.planClassified], topics[.scheduleChanged], topics[.appointmentChanged]]),
            pool: pool,
            handler: OfferHandler(consumerName: group, settings: offerSettings),
            clock: clock, logger: testLogger)
    }

    func classifier(group: String = "classifier", clock: any PlanRouterClock) throws -> ConsumerWorker<ClassifierHandler> {
        ConsumerWorker(
            consumer: try consumer(group: group, topics: [topics[.planAccepted], topics[.planChanged], topics[.planPresented]]), pool: pool,
            handler: ClassifierHandler(consumerName: group, settings: Self.anyAcceptanceTime), clock: clock, logger: testLogger)
    }

    /// The tests move the manual clock days ahead without a connector re-publishing schedules, so the
    /// calendar-staleness window is a month here (OfferedOpeningsStayRealTests covers the 24 h default).
    var offerSettings: OfferSettings {
        var s = OfferSettings(bookingBaseURL: "https://book.example.com", bookingSecret: Self.bookingSecret)
        s.calendarStaleAfter = .seconds(30 * 86_400)
        return s
    }

    func lifecycle(clock: any PlanRouterClock) throws -> ConsumerWorker<LifecycleHandler> {
        ConsumerWorker(
            consumer: try consumer(group: "escalation", topics: [topics[.appointmentChanged], topics[.planChanged]]), pool: pool,
            handler: LifecycleHandler(consumerName: "escalation"), clock: clock, logger: testLogger)
    }

    func timers(clock: any PlanRouterClock, lease: Duration = .seconds(60), worker: String = UUID().uuidString) -> EscalationWorker {
        EscalationWorker(
            conninfo: databaseURL, pool: pool, offers: OfferPlanner(settings: offerSettings), clock: clock,
            settings: EscalationSettings(lease: lease, pollInterval: .milliseconds(100)), workerID: worker, logger: testLogger)
    }

    func relay(batchSize: Int = 500, telemetry: WorkerTelemetry? = nil) throws -> OutboxRelay {
        OutboxRelay(
            conninfo: databaseURL, producer: try producer(OutboxRelay.producerDefaults), clock: WallClock(),
            settings: RelaySettings(batchSize: batchSize, idleWait: .milliseconds(100)), telemetry: telemetry, logger: testLogger)
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.withConnection { try await $0.query(sql)[0].decode(0, as: Int.self) }
    }

    /// Reads a topic from the beginning until `expected` messages arrived (or the time is up).
    func consumeAll(topic: String, expected: Int, quiet: Duration = .zero, timeout: Duration = .seconds(40)) async throws -> [KafkaMessage]
    {
        let c = try consumer(group: "reader-\(UUID().uuidString)", topics: [topic])
        var out: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while out.count < expected, ContinuousClock.now < deadline {
            out += try await c.poll(maxMessages: 1000, timeout: .milliseconds(200))
        }
        // Optionally keep listening to catch unexpected extra messages (duplicates).
        let quietEnd = ContinuousClock.now + quiet
        while ContinuousClock.now < quietEnd {
            out += try await c.poll(maxMessages: 1000, timeout: .milliseconds(200))
        }
        await c.close()
        return out
    }
}

/// A service running in a task until stopped.
struct Running: Sendable {
    let task: Task<Void, any Error>

    init(_ run: @escaping @Sendable () async throws -> Void) { task = Task { try await run() } }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

/// Polls a condition until it holds; fails the test (and throws) when the time is up.
func eventually(
    _ what: String, timeout: Duration = .seconds(40), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out waiting: \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}

/// Envelopes for tests.
enum TestEvents {
    static func accepted(
        id: String = UUID().uuidString, plan: String = "plan-\(UUID().uuidString.prefix(6))",
        codes: [(String, Int64)] = [("D2740", 135_000)],
        acceptedAt: String = "2026-11-30T10:15:00-05:00", service: Bool = false
    ) -> JSONValue {
        let procedures: [JSONValue] = codes.map { code, fee in
            var o: JSONObject = ["code": .string(code), "description": "test procedure", "fee_cents": .int(fee)]
            if service {
                o["code_system"] = "service"
                o["minutes"] = 30
            }
            return .object(o)
        }
        let data: JSONValue = .object([
            "organization_id": "org-1", "location_id": "loc-12", "plan_id": .string(plan), "accepted_at": .string(acceptedAt),
            "acceptance_source": "chair",
            "patient": .object([
                "id": "pat-1", "first_name": "Maria", "phone": "+15555550123", "preferred_channel": "sms", "sms_consent": true,
            ]),
            "provider_id": "prov-3", "procedures": .array(procedures),
            "total_fee_cents": .int(codes.map(\.1).reduce(0, +)),
        ])
        return .object([
            "specversion": "1.0", "id": .string(id), "source": "opendental/loc-12", "type": "planrouter.plan.accepted.v1",
            "time": "2026-11-30T10:15:02-05:00", "subject": .string(plan), "data": data,
        ])
    }

    static func classifiedData(plan: String) -> JSONValue {
        .object([
            "organization_id": "org-1", "location_id": "loc-1", "plan_id": .string(plan), "patient_id": "pat-1",
            "provider_id": "prov-1", "accepted_at": "2026-11-30T10:00:00Z", "classified_at": "2026-11-30T10:00:01Z",
            "tier": "restorative", "path": "self_book", "chair_minutes": 90, "value_cents": 135000, "deposit_cents": 13500,
            "first_offer_sla_minutes": 30, "rules_version": 0, "reasons": ["test"],
        ])
    }

    /// A schedule.changed: the providers work 08:00-17:00 local on weekdays from `from` to `to`.
    static func schedule(
        location: String = "loc-12", zone: String = "America/New_York", from: String = "2026-12-01", to: String = "2026-12-31",
        providers: [(id: String, role: String, operatories: [String])] = [("prov-3", "dentist", ["op-1", "op-2"])],
        blockouts: [JSONValue] = [], changedAt: String = "2026-11-30T12:00:00Z", id: String = UUID().uuidString
    ) -> JSONValue {
        let tz = TimeZone(identifier: zone)!
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        let f = DateFormatter()
        f.timeZone = tz
        f.dateFormat = "yyyy-MM-dd"
        var day = f.date(from: from)!
        let last = f.date(from: to)!
        var blocks: [JSONValue] = []
        while day <= last {
            let weekday = cal.component(.weekday, from: day)
            if weekday != 1 && weekday != 7 {
                for p in providers {
                    let start = cal.date(bySettingHour: 8, minute: 0, second: 0, of: day)!
                    let end = cal.date(bySettingHour: 17, minute: 0, second: 0, of: day)!
                    blocks.append(
                        .object([
                            "provider_id": .string(p.id), "start": .string(RFC3339.format(start)), "end": .string(RFC3339.format(end)),
                        ]))
                }
            }
            day = cal.date(byAdding: .day, value: 1, to: day)!
        }
        let data: JSONValue = .object([
            "organization_id": "org-1", "location_id": .string(location), "changed_at": .string(changedAt), "time_zone": .string(zone),
            "from": .string(from), "to": .string(to),
            "providers": .array(
                providers.map {
                    .object([
                        "id": .string($0.id), "roles": [.string($0.role)], "operatory_ids": .array($0.operatories.map { .string($0) }),
                    ])
                }),
            "blocks": .array(blocks), "blockouts": .array(blockouts),
        ])
        return .object([
            "specversion": "1.0", "id": .string(id), "source": .string("opendental/\(location)"), "type": "planrouter.schedule.changed.v1",
            "time": .string(changedAt), "data": data,
        ])
    }

    static func appointment(
        id: String, plan: String?, status: String = "scheduled", start: String = "2026-12-02T15:00:00Z",
        changedAt: String = "2026-12-01T16:00:00Z"
    ) -> JSONValue {
        var d: JSONObject = [
            "organization_id": "org-1", "location_id": "loc-12", "appointment_id": .string(id), "changed_at": .string(changedAt),
            "status": .string(status), "patient_id": "pat-1", "provider_id": "prov-3", "operatory_id": "op-1", "start": .string(start),
            "length_minutes": 90, "procedure_codes": ["D2740"],
        ]
        if let plan { d["plan_id"] = .string(plan) }
        return .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "opendental/loc-12",
            "type": "planrouter.appointment.changed.v1",
            "time": .string(changedAt), "data": .object(d),
        ])
    }

    static func planChanged(plan: String, change: String, changedAt: String = "2026-12-01T16:00:00Z") -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "opendental/loc-12", "type": "planrouter.plan.changed.v1",
            "time": .string(changedAt),
            "data": .object([
                "organization_id": "org-1", "location_id": "loc-12", "plan_id": .string(plan), "changed_at": .string(changedAt),
                "change": .string(change),
            ]),
        ])
    }

    static func acceptedWith(
        plan: String, location: String = "loc-12", codes: [(String, Int64)], channel: String = "sms", inOffice: Bool = false,
        acceptedAt: String = "2026-12-01T14:29:00Z", coordinator: String? = nil
    ) -> JSONValue {
        var e = accepted(plan: plan, codes: codes, acceptedAt: acceptedAt).objectValue!
        var d = e["data"]!.objectValue!
        d["location_id"] = .string(location)
        var patient = d["patient"]!.objectValue!
        patient["preferred_channel"] = .string(channel)
        if channel == "phone" {
            patient["sms_consent"] = false
            patient["phone"] = nil
        }
        if inOffice { patient["still_in_office"] = true }
        d["patient"] = .object(patient)
        if let coordinator { d["coordinator_id"] = .string(coordinator) }
        e["data"] = .object(d)
        return .object(e)
    }
}
