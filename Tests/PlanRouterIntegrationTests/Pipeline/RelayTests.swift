import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

@Suite struct RelayTests {
    func fillOutbox(_ h: PipelineHarness, count: Int, keys: Int = 7) async throws {
        try await h.pool.withTransaction { tx in
            var batch = OutboxBatch()
            for i in 0..<count {
                batch.append(
                    OutboxRecord(
                        topic: h.topics[.planClassified], key: Array("loc-\(i % keys)".utf8), eventID: "e\(i)",
                        payload: Array("{\"n\":\(i)}".utf8), headers: ["ce_id": "e\(i)"]))
            }
            try await batch.insert(on: tx, now: Date())
        }
    }

    @Test func severalRelaysPublishEveryRowOnceInKeyOrder() async throws {
        let h = try await PipelineHarness()
        try await fillOutbox(h, count: 3000)
        let relays = try (0..<3).map { _ in try h.relay(batchSize: 200) }
        let runs = relays.map { r in Running { try await r.run() } }
        try await eventually("all published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        let messages = try await h.consumeAll(topic: h.topics[.planClassified], expected: 3000, quiet: .seconds(1))
        #expect(messages.count == 3000)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }).count == 3000)
        #expect(relays.map(\.stats.published).reduce(0, +) == 3000)
        // Per key, the order of publication is the order of the rows.
        var lastByKey: [String: Int] = [:]
        for m in messages.sorted(by: { ($0.partition, $0.offset) < ($1.partition, $1.offset) }) {
            let key = String(decoding: m.key ?? [], as: UTF8.self)
            let n = Int(String(decoding: m.value, as: UTF8.self).dropFirst(5).dropLast())!
            #expect(n > lastByKey[key, default: -1])
            lastByKey[key] = n
        }
        for r in runs { await r.stop() }
        await h.close()
    }

    @Test func aRowTheBrokerRefusesForGoodIsSetAsideAndTheRestFlow() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.pool.withTransaction { tx in
            var b = OutboxBatch()
            b.append(
                OutboxRecord(
                    topic: h.topics[.planClassified], key: Array("loc-1".utf8), eventID: "big",
                    payload: Array(repeating: 0x61, count: 2_000_000), headers: [:]))
            for i in 0..<5 {
                b.append(
                    OutboxRecord(
                        topic: h.topics[.planClassified], key: Array("loc-1".utf8), eventID: "small\(i)", payload: Array("{}".utf8),
                        headers: [:]))
            }
            try await b.insert(on: tx, now: Date())
        }
        // librdkafka's default 1 MB client limit refuses the 2 MB row: a permanent error.
        let relay = OutboxRelay(
            conninfo: h.databaseURL, producer: try h.producer(), clock: WallClock(),
            settings: RelaySettings(batchSize: 100, idleWait: .milliseconds(50)), logger: testLogger)
        let run = Running { try await relay.run() }
        try await eventually("big row set aside") { try await h.count("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL") == 1 }
        try await eventually("small rows published") {
            try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 5
        }
        let backlog = try await h.pool.withConnection { try await OutboxBacklog.read(on: $0) }
        #expect(backlog.pending == 0 && backlog.failed == 1)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE event_id = 'big' AND last_error LIKE '%' AND attempts = 3") == 1)
        await run.stop()
        await h.close()
    }

    @Test func republishAfterRelayCrashIsAbsorbedByDownstreamDedupe() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.pool.withConnection { try await $0.simpleQuery("CREATE TABLE test_applied (event_id text NOT NULL)") }
        let events = (0..<50).map { i in
            CloudEvent(
                id: "c\(i)", source: "planrouter/classifier", type: .planClassified, time: Date(), subject: "p\(i)",
                data: TestEvents.classifiedData(plan: "p\(i)"))
        }
        try await h.pool.withTransaction { tx in
            var b = OutboxBatch()
            for e in events { b.append(e, topic: h.topics[.planClassified]) }
            try await b.insert(on: tx, now: Date())
        }
        let relay = try h.relay()
        var run = Running { try await relay.run() }
        try await eventually("published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        await run.stop()
        // The crash: delivered, but the marks were never written.
        _ = try await h.pool.withConnection { try await $0.execute("UPDATE outbox SET published_at = NULL") }
        let again = try h.relay()
        run = Running { try await again.run() }
        try await eventually("published again") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        await run.stop()

        let downstream = ConsumerWorker(
            consumer: try h.consumer(group: "downstream", topics: [h.topics[.planClassified]]), pool: h.pool,
            handler: RecordingHandler(), clock: WallClock(), logger: testLogger)
        let d = Running { try await downstream.run() }
        try await eventually("100 deliveries seen") { downstream.stats.applied + downstream.stats.deduplicated == 100 }
        #expect(downstream.stats.applied == 50)
        #expect(try await h.count("SELECT count(*) FROM test_applied") == 50)
        #expect(try await h.count("SELECT count(DISTINCT event_id) FROM test_applied") == 50)
        await d.stop()
        await h.close()
    }
}

/// A downstream consumer that records what it applies.
struct RecordingHandler: EventHandler {
    let consumerName = "downstream"
    let eventTypes: Set<EventType> = [.planClassified]
    func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        _ = try await tx.execute("INSERT INTO test_applied SELECT unnest($1::text[])", events.map(\.event.id))
        return []
    }
}
