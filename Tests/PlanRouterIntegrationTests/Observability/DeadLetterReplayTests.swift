import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterWorkers
import Testing

/// `planrouter dlq replay`: dead letters back to their source topic, by time range.
@Suite struct DeadLetterReplayTests {
    static func letter(_ value: String, key: String, time: String, extra: [KafkaHeader] = []) -> KafkaOutgoingMessage {
        let headers =
            [
                KafkaHeader(key: "ce_type", value: Array("planrouter.plan.accepted.v1".utf8)),
                KafkaHeader(key: "dlq.reason", value: Array("schema: data.plan_id is required".utf8)),
                KafkaHeader(key: "dlq.kind", value: Array("schema_invalid".utf8)),
                KafkaHeader(key: "dlq.source.topic", value: Array("plan.accepted".utf8)),
                KafkaHeader(key: "dlq.time", value: Array(time.utf8)),
            ] + extra
        return KafkaOutgoingMessage(topic: "plan.accepted.dlq", key: Array(key.utf8), value: Array(value.utf8), headers: headers)
    }

    @Test func replaysOnlyTheRecordsInTheTimeRange() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        defer { cluster.close() }
        try cluster.createTopic("plan.accepted", partitions: 3)
        try cluster.createTopic("plan.accepted.dlq", partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: testLogger)
        let binary: [UInt8] = [0, 1, 0xfe]
        for r in await producer.sendBatch([
            Self.letter("{\"old\":true}", key: "loc-1", time: "2026-11-27T08:00:00Z"),
            Self.letter(
                "{\"fixed\":true}", key: "loc-12", time: "2026-11-28T09:30:00Z",
                extra: [KafkaHeader(key: "trace", value: Array(("hex:" + "0001fe").utf8))]),
        ]) { _ = try r.get() }

        let replay = DeadLetterReplay(
            sourceTopic: "plan.accepted", from: RFC3339.parse("2026-11-28T09:00:00Z"), to: RFC3339.parse("2026-11-28T10:00:00Z"))
        #expect(replay.deadLetterTopic == "plan.accepted.dlq")
        let consumer = try KafkaConsumer(
            bootstrapServers: cluster.bootstrapServers, groupID: "replay-\(UUID().uuidString)", topics: [replay.deadLetterTopic],
            properties: DeadLetterReplay.consumerDefaults, logger: testLogger)
        let letters = try await DeadLetterReplay.readAll(consumer, idle: .seconds(2), timeout: .seconds(40))
        #expect(letters.count == 2)
        let selected = letters.filter(replay.selects)
        #expect(selected.count == 1)
        let summary = await replay.publish(selected, read: letters.count, producer: producer)
        await producer.close()
        #expect(summary.published == 1 && summary.failures.isEmpty)

        // It lands on the source topic with the original bytes, key and headers, and no dlq.* header.
        let reader = try KafkaConsumer(
            bootstrapServers: cluster.bootstrapServers, groupID: "reader-\(UUID().uuidString)", topics: ["plan.accepted"],
            properties: DeadLetterReplay.consumerDefaults, logger: testLogger)
        var got: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(40)
        while got.isEmpty, ContinuousClock.now < deadline { got += try await reader.poll(maxMessages: 10, timeout: .milliseconds(200)) }
        // Nothing else follows.
        let quiet = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < quiet { got += try await reader.poll(maxMessages: 10, timeout: .milliseconds(200)) }
        await reader.close()
        #expect(got.count == 1)
        let m = try #require(got.first)
        #expect(m.value == Array("{\"fixed\":true}".utf8))
        #expect(m.key == Array("loc-12".utf8))
        #expect(!m.headers.contains { $0.key.hasPrefix("dlq.") })
        #expect(m.headers.contains(KafkaHeader(key: "ce_type", value: Array("planrouter.plan.accepted.v1".utf8))))
        #expect(m.headers.contains(KafkaHeader(key: "trace", value: binary)))

        // The command line lists the same selection without publishing.
        let dry = try await CLI.run(
            [
                "dlq", "replay", "--topic", "plan.accepted", "--from", "2026-11-28T09:00:00Z", "--to", "2026-11-28T10:00:00Z", "--dry-run",
                "--idle-timeout", "2",
            ],
            env: ["PLANROUTER_KAFKA_BROKERS": cluster.bootstrapServers], timeout: .seconds(90))
        #expect(dry.status == 0, "stderr: \(dry.stderr)")
        #expect(dry.stdout.contains("key loc-12"), "stdout: \(dry.stdout)")
        #expect(dry.stdout.contains("read 2, selected 1, replayed 0 (dry run)"), "stdout: \(dry.stdout)")
        let bad = try await CLI.run(["dlq", "replay", "--topic", "plan.accepted", "--from", "yesterday"])
        #expect(bad.status != 0 && bad.stderr.contains("RFC 3339"))
    }
}
