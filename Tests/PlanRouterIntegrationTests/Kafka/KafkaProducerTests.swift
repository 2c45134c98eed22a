import Foundation
import PlanRouterKafka
import Testing

@Suite("Kafka producer")
struct KafkaProducerTests {
    @Test("idempotent send and sendBatch report increasing offsets; a consumer reads back keys, headers and values")
    func sendAndReadBack() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: KafkaTestSupport.logger)
        defer { cluster.close() }
        let topic = KafkaTestSupport.uniqueName("produce")
        try cluster.createTopic(topic, partitions: 4)

        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestSupport.logger)
        let single = KafkaOutgoingMessage(
            topic: topic, key: Array("single".utf8), value: Array("first".utf8),
            headers: [KafkaHeader(key: "h", value: [])])
        let first = try await producer.send(single)
        #expect(first.topic == topic)
        #expect(first.offset >= 0)

        let outgoing = KafkaTestSupport.messages(topic: topic, count: 1_000)
        let results = await producer.sendBatch(outgoing)
        #expect(results.count == 1_000)
        let reports = results.compactMap { try? $0.get() }
        #expect(reports.count == 1_000)

        // Input order is preserved within a partition, so offsets rise strictly.
        var lastOffset: [Int32: Int64] = [first.partition: first.offset]
        for report in reports {
            if let previous = lastOffset[report.partition] { #expect(report.offset > previous) }
            lastOffset[report.partition] = report.offset
        }
        await producer.close()

        var expected: [String: KafkaOutgoingMessage] = ["single": single]
        for message in outgoing { expected[String(decoding: message.key!, as: UTF8.self)] = message }

        let consumer = try KafkaTestSupport.makeConsumer(cluster, group: KafkaTestSupport.uniqueName("g"), topic: topic)
        var received: [String: KafkaMessage] = [:]
        try await KafkaTestSupport.pollUntil(
            consumer, timeout: .seconds(40),
            onBatch: { batch in
                for message in batch { received[KafkaTestSupport.key(message)] = message }
                consumer.markDone(batch)
            }, done: { received.count >= expected.count })
        await consumer.close()

        #expect(received.count == expected.count)
        for (key, message) in expected {
            let got = try #require(received[key])
            #expect(got.value == message.value)
            #expect(got.headers == message.headers)
            #expect(got.timestamp != nil)
        }
    }

    @Test("send after close fails with .closed; close is idempotent")
    func sendAfterClose() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestSupport.logger)
        defer { cluster.close() }
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestSupport.logger)
        await producer.close()
        await producer.close()
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaOutgoingMessage(topic: "t", key: nil, value: [1]))
        }
        let results = await producer.sendBatch([KafkaOutgoingMessage(topic: "t", key: nil, value: [1])])
        guard case .failure(let error) = results.first else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .closed)
    }
}
