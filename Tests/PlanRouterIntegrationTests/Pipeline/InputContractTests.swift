import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// The consumer loop judges input by the contract (issue 12) and never blames an event for
/// a lost connection (issue 18). Batches go straight to `ConsumerWorker.process`, as the
/// poll loop hands them over, against a real migrated PostgreSQL. Every worker's consumer
/// is closed before the harness (librdkafka must not destroy an unclosed group consumer).
@Suite struct InputContractTests {
    /// A polled message as the broker would deliver it.
    static func message(_ event: JSONValue, topic: String, offset: Int64, headers: [KafkaHeader] = []) -> KafkaMessage {
        KafkaMessage(
            topic: topic, partition: 0, offset: offset, key: Array("loc-12".utf8), value: event.serializedBytes(), headers: headers)
    }

    static func message(_ bytes: [UInt8], topic: String, offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: topic, partition: 0, offset: offset, key: Array("loc-12".utf8), value: bytes)
    }

    /// The dead letters written to the outbox: (source topic, kind, reason, headers), in order.
    static func deadLetters(_ h: PipelineHarness) async throws -> [(topic: String, kind: String, reason: String, headers: String)] {
        try await h.pool.withConnection {
            try await $0.query(
                """
                SELECT headers->>'dlq.source.topic', headers->>'dlq.kind', headers->>'dlq.reason', headers::text
                FROM outbox WHERE topic LIKE '%.dlq' ORDER BY id
                """
            ).map {
                (
                    try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self),
                    try $0.decode(3, as: String.self)
                )
            }
        }
    }

    static func modified(plan: String, changedAt: String = "2026-11-30T16:00:00Z") -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "opendental/loc-12", "type": "planrouter.plan.changed.v1",
            "time": .string(changedAt),
            "data": .object([
                "organization_id": "org-1", "location_id": "loc-12", "plan_id": .string(plan), "changed_at": .string(changedAt),
                "change": "modified",
                "procedures": [.object(["code": "D6010", "description": "implant", "fee_cents": 240_000])],
                "total_fee_cents": 240_000,
            ]),
        ])
    }

    // MARK: 10. a topic carries its type

    @Test func planChangedOnPlanAcceptedIsDeadLetteredNotAppliedNorDropped() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let worker = try h.classifier()
        let accepted = h.topics[.planAccepted]
        let changed = h.topics[.planChanged]
        try await worker.process([Self.message(TestEvents.accepted(plan: "p1", codes: [("D2740", 135_000)]), topic: accepted, offset: 0)])
        #expect(try await h.count("SELECT count(*) FROM plan_procedures WHERE plan_id = 'p1' AND code = 'D2740'") == 1)

        // On the wrong topic: a modification and a decline, both dead-lettered with the topic and type named.
        try await worker.process([
            Self.message(Self.modified(plan: "p1"), topic: accepted, offset: 1),
            Self.message(TestEvents.planChanged(plan: "p1", change: "declined"), topic: accepted, offset: 2),
        ])
        let letters = try await Self.deadLetters(h)
        #expect(letters.count == 2)
        for l in letters {
            #expect(l.topic == accepted)
            #expect(l.kind == "unexpected_type")
            #expect(
                l.reason
                    == "event type planrouter.plan.changed.v1 does not belong on topic plan.accepted, which carries planrouter.plan.accepted.v1"
            )
        }
        #expect(
            try await h.count("SELECT count(*) FROM plan_procedures WHERE plan_id = 'p1' AND code = 'D2740'") == 1,
            "the modification was applied")
        #expect(try await h.count("SELECT count(*) FROM classifications WHERE plan_id = 'p1'") == 1)

        // On its own topic the modification is applied.
        try await worker.process([Self.message(Self.modified(plan: "p1"), topic: changed, offset: 0)])
        #expect(try await h.count("SELECT count(*) FROM plan_procedures WHERE plan_id = 'p1' AND code = 'D6010'") == 1)
        #expect(try await Self.deadLetters(h).count == 2)
        await worker.consumer.close()
        await h.close()
    }

    @Test func everyWorkerKindTakesOneTypePerTopic() async throws {
        let h = try await PipelineHarness(partitions: 1)
        #expect(
            ClassifierHandler().topicTypes == [
                "plan.accepted": [.planAccepted], "plan.changed": [.planChanged], "plan.presented": [.planPresented],
            ])
        #expect(
            OfferHandler(settings: h.offerSettings).topicTypes
                == [
                    "plan.classified": [.planClassified], "schedule.changed": [.scheduleChanged],
                    "appointment.changed": [.appointmentChanged],
                ])
        #expect(LifecycleHandler().topicTypes == ["appointment.changed": [.appointmentChanged], "plan.changed": [.planChanged]])
        let renamed = TopicNames(overrides: [.planAccepted: "prod.accepted"])
        #expect(ClassifierHandler(topics: renamed).topicTypes["prod.accepted"] == [.planAccepted])

        // The escalation worker's lifecycle consumer: an appointment on plan.changed is refused.
        let clock = ManualClock(RFC3339.parse("2026-12-01T17:00:00Z")!)
        let lifecycle = try h.lifecycle(clock: clock)
        try await lifecycle.process([
            Self.message(TestEvents.appointment(id: "a1", plan: nil), topic: h.topics[.planChanged], offset: 0)
        ])
        // The offer worker: a schedule on appointment.changed is refused.
        let offer = try h.offer(clock: clock)
        try await offer.process([Self.message(TestEvents.schedule(), topic: h.topics[.appointmentChanged], offset: 0)])
        let letters = try await Self.deadLetters(h)
        #expect(letters.map(\.kind) == ["unexpected_type", "unexpected_type"])
        #expect(letters.map(\.topic) == ["plan.changed", "appointment.changed"])
        #expect(letters.first?.reason.contains("planrouter.appointment.changed.v1 does not belong on topic plan.changed") == true)
        #expect(letters.last?.reason.contains("planrouter.schedule.changed.v1 does not belong on topic appointment.changed") == true)
        #expect(try await h.count("SELECT count(*) FROM schedule_blocks") == 0)
        await lifecycle.consumer.close()
        await offer.consumer.close()
        await h.close()
    }

    // MARK: 9. the acceptance window, on the worker's clock

    @Test func acceptancesOutsideTheWindowAreDeadLetteredOnTheWorkersClock() async throws {
        let h = try await PipelineHarness(partitions: 1)
        // The worker's "now" (not the system clock's): 2031, where 2026 is far in the past.
        let clock = ManualClock(RFC3339.parse("2031-03-01T12:00:00Z")!)
        let worker = ConsumerWorker(
            consumer: try h.consumer(group: "window", topics: [h.topics[.planAccepted], h.topics[.planChanged]]), pool: h.pool,
            handler: ClassifierHandler(consumerName: "window"), clock: clock, logger: testLogger)
        let topic = h.topics[.planAccepted]
        try await worker.process([
            Self.message(TestEvents.accepted(plan: "in-1900", acceptedAt: "1900-01-01T09:00:00-05:00"), topic: topic, offset: 0),
            Self.message(TestEvents.accepted(plan: "in-9999", acceptedAt: "9999-12-31T23:30:00Z"), topic: topic, offset: 1),
            Self.message(TestEvents.accepted(plan: "year-10000", acceptedAt: "9999-12-31T23:30:00-05:00"), topic: topic, offset: 2),
            Self.message(TestEvents.accepted(plan: "next-week", acceptedAt: "2031-03-08T12:00:00Z"), topic: topic, offset: 3),
            Self.message(TestEvents.accepted(plan: "in-2026", acceptedAt: "2026-11-30T10:15:00-05:00"), topic: topic, offset: 4),
            Self.message(TestEvents.accepted(plan: "now", acceptedAt: "2031-03-01T11:58:00Z"), topic: topic, offset: 5),
            Self.message(TestEvents.accepted(plan: "tomorrow", acceptedAt: "2031-03-02T11:00:00Z"), topic: topic, offset: 6),
            Self.message(Self.modified(plan: "now", changedAt: "1999-01-01T00:00:00Z"), topic: h.topics[.planChanged], offset: 0),
        ])
        #expect(try await h.count("SELECT count(*) FROM plans") == 2)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id IN ('now', 'tomorrow')") == 2)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'plan.classified'") == 2)
        let letters = try await Self.deadLetters(h)
        #expect(letters.map(\.kind) == Array(repeating: "invalid_data", count: 6))
        let reasons = letters.map(\.reason)
        #expect(reasons.contains("/data/accepted_at: more than 730 days before the worker's time 2031-03-01T12:00:00Z (acceptance window)"))
        #expect(reasons.contains("/data/accepted_at: more than 24 h after the worker's time 2031-03-01T12:00:00Z (acceptance window)"))
        #expect(reasons.contains("/data/accepted_at: not an RFC 3339 date-time with offset"))
        #expect(reasons.contains("/data/changed_at: more than 730 days before the worker's time 2031-03-01T12:00:00Z (acceptance window)"))
        #expect(reasons.filter { $0.contains("acceptance window") }.count == 5)

        // A window from the settings: 2 hours ahead, 30 days back.
        let narrow = ConsumerWorker(
            consumer: try h.consumer(group: "narrow", topics: [topic]), pool: h.pool,
            handler: ClassifierHandler(
                consumerName: "narrow",
                settings: ClassifierSettings(
                    acceptanceWindow: AcceptanceWindow(maximumLead: .seconds(7200), maximumAge: .seconds(30 * 86_400)))),
            clock: clock, logger: testLogger)
        try await narrow.process([
            Self.message(TestEvents.accepted(plan: "in-3h", acceptedAt: "2031-03-01T15:00:00Z"), topic: topic, offset: 10),
            Self.message(TestEvents.accepted(plan: "in-1h", acceptedAt: "2031-03-01T13:00:00Z"), topic: topic, offset: 11),
        ])
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'in-1h'") == 1)
        #expect(
            try await Self.deadLetters(h).last?.reason
                == "/data/accepted_at: more than 2 h after the worker's time 2031-03-01T12:00:00Z (acceptance window)")
        await worker.consumer.close()
        await narrow.consumer.close()
        await h.close()
    }

    // MARK: 11. storable reasons

    @Test func aPropertyNameWithNULIsInvalidDataAndTheBatchIsNotSplit() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let worker = try h.classifier()
        let topic = h.topics[.planAccepted]
        var bad = TestEvents.accepted(plan: "nul").objectValue!
        var data = bad["data"]!.objectValue!
        data["x\u{0}y"] = true
        bad["data"] = .object(data)
        try await worker.process([
            Self.message(TestEvents.accepted(plan: "good-1"), topic: topic, offset: 0),
            Self.message(.object(bad), topic: topic, offset: 1, headers: [KafkaHeader(key: "x-note", value: Array("a\u{0}b".utf8))]),
            Self.message(TestEvents.accepted(plan: "good-2"), topic: topic, offset: 2),
        ])
        let letters = try await Self.deadLetters(h)
        #expect(letters.count == 1)
        #expect(letters.first?.kind == "invalid_data")
        #expect(letters.first?.reason == #"/data/: unknown property "x\u0000y""#)
        #expect(letters.first?.headers.contains(#""x-note": "hex:610062""#) == true)
        #expect(try await h.count("SELECT count(*) FROM plans") == 2)
        #expect(worker.stats.batches == 1, "the batch was split")
        await worker.consumer.close()
        await h.close()
    }

    // MARK: 18.5. a lost connection is never a refusal

    /// Runs `fault` inside the batch's transaction before the classifier applies it.
    struct FaultyHandler: EventHandler {
        let inner: ClassifierHandler
        let fault: @Sendable (PostgresConnection) async throws -> Void
        var consumerName: String { inner.consumerName }
        var eventTypes: Set<EventType> { inner.eventTypes }
        var topicTypes: [String: Set<EventType>] { inner.topicTypes }
        func apply(
            _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
        )
            async throws -> [DeadLetter]
        {
            try await fault(tx)
            return try await inner.apply(events, in: tx, outbox: &outbox, now: now, logger: logger)
        }
    }

    final class Countdown: @unchecked Sendable {
        private let lock = NSLock()
        private var left: Int
        init(_ n: Int) { left = n }
        /// True the first `n` times.
        func take() -> Bool {
            lock.withLock {
                defer { left -= 1 }
                return left > 0
            }
        }
    }

    func faulty(
        _ h: PipelineHarness, group: String, fault: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) throws
        -> ConsumerWorker<FaultyHandler>
    {
        ConsumerWorker(
            consumer: try h.consumer(group: group, topics: [h.topics[.planAccepted]]), pool: h.pool,
            handler: FaultyHandler(
                inner: ClassifierHandler(consumerName: group, settings: PipelineHarness.anyAcceptanceTime), fault: fault),
            clock: WallClock(), logger: testLogger)
    }

    @Test func libpqReportsWithoutSQLStateAreConnectionLossNotRefusals() {
        let closed = PostgresError(
            code: .server,
            message:
                "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request."
        )
        #expect(closed.isRetriable)
        #expect(!closed.isRefusal)
        for message in [
            "no connection to the server", "could not receive data from server: Connection reset by peer",
            "SSL SYSCALL error: EOF detected",
        ] {
            #expect(PostgresError(code: .server, message: message).isRetriable, "\(message)")
        }
        #expect(PostgresError(code: .server, sqlState: "57P01", message: "terminating connection due to administrator command").isRetriable)
        #expect(PostgresError(code: .server, sqlState: "08006", message: "connection failure").isRetriable)
        #expect(!PostgresError(code: .server, sqlState: "57P01", message: "x").isRefusal)
        let refused = PostgresError(
            code: .server, sqlState: "23505", message: "duplicate key value violates unique constraint \"plans_pkey\"")
        #expect(refused.isRefusal && !refused.isRetriable)
        // Neither: the worker stops instead of blaming the batch.
        let closedPool = PostgresError(code: .poolClosed, message: "the pool is closed")
        #expect(!closedPool.isRefusal && !closedPool.isRetriable)
        #expect(!PostgresError(code: .server, message: "another command is already in progress").isRefusal)
    }

    @Test func aConnectionLevelErrorWithoutSQLStateRetriesTheWholeBatchAndNeverDeadLetters() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let topic = h.topics[.planAccepted]
        let lost = PostgresError(
            code: .server,
            message:
                "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request."
        )
        let once = Countdown(1)
        let worker = try faulty(h, group: "flaky-batch") { _ in if once.take() { throw lost } }
        try await worker.process((0..<5).map { Self.message(TestEvents.accepted(plan: "b\($0)"), topic: topic, offset: Int64($0)) })
        #expect(worker.stats.batches == 1, "the batch was split into one-event transactions")
        #expect(worker.stats.retries == 1)

        // A single event hitting the same error is retried, not dead-lettered as rejected_by_database.
        let again = Countdown(2)
        let single = try faulty(h, group: "flaky-single") { _ in if again.take() { throw lost } }
        try await single.process([Self.message(TestEvents.accepted(plan: "s1"), topic: topic, offset: 10)])
        #expect(try await Self.deadLetters(h).isEmpty)
        #expect(try await h.count("SELECT count(*) FROM plans") == 6)
        #expect(single.stats.deadLettered == 0)
        await worker.consumer.close()
        await single.consumer.close()
        await h.close()
    }

    @Test func theWorkersBackendTerminatedMidBatchAppliesEverythingExactlyOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let topic = h.topics[.planAccepted]
        let admin = try await PostgresConnection.connect(h.databaseURL, logger: testLogger)
        defer { admin.close() }
        // The first three attempts lose their connection after the inbox insert, in the middle of the batch.
        let kills = Countdown(3)
        let worker = try faulty(h, group: "terminated") { tx in
            guard kills.take() else { return }
            let pid = try await tx.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
            _ = try await admin.query("SELECT pg_terminate_backend($1, 5000)", pid)
        }
        let n = 200
        try await worker.process((0..<n).map { Self.message(TestEvents.accepted(plan: "t\($0)"), topic: topic, offset: Int64($0)) })
        #expect(worker.stats.batches == 1, "the batch was split")
        #expect(worker.stats.retries == 3)
        #expect(worker.stats.deadLettered == 0)
        #expect(try await Self.deadLetters(h).isEmpty)
        #expect(try await h.count("SELECT count(*) FROM plans") == n)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE kind = 'accepted'") == n)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'plan.classified'") == n)
        #expect(try await h.count("SELECT count(*) FROM inbox") == n)
        await worker.consumer.close()
        await h.close()
    }
}
