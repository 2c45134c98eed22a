import Foundation
import Testing

@testable import PlanRouterKafka

@Suite("Kafka producer faults")
struct KafkaProducerFaultTests {
    typealias Support = KafkaTestSupport

    @Test("a full local queue is retried on the producer's queue until everything is delivered")
    func queueFull() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("queue-full")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try KafkaProducer(
            bootstrapServers: cluster.bootstrapServers, properties: ["queue.buffering.max.messages": "10"],
            logger: Support.logger)
        let results = await producer.sendBatch(Support.messages(topic: topic, count: 500))
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        await producer.close()
    }

    @Test("retriable produce errors injected by the mock are retried by librdkafka")
    func injectedErrors() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("inject")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Support.logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [0]))
        // ApiKey 0 = Produce; 19 = NOT_ENOUGH_REPLICAS, retriable.
        cluster.pushRequestErrors(apiKey: 0, errors: [19, 19, 19])
        let report = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [1]))
        #expect(report.offset == 1)
        await producer.close()
    }

    @Test("a send waits out a broker outage")
    func brokerDown() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("down")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Support.logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [0]))
        try cluster.setBrokerDown(1)
        let pending = Task { try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [1])) }
        try await Task.sleep(for: .milliseconds(500))
        try cluster.setBrokerUp(1)
        let report = try await pending.value
        #expect(report.offset == 1)
        await producer.close()
    }

    @Test("a fatal error fails the send and every later send with .fatal")
    func fatal() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("fatal")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Support.logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [0]))
        producer._triggerFatalErrorForTesting()
        for _ in 0..<2 {
            do {
                _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [1]))
                Issue.record("expected a fatal error")
            } catch let error as KafkaError {
                #expect(error.code == .fatal)
                #expect(error.isFatal)
                #expect(error.rdKafkaError == 45)  // the original cause, not the generic __FATAL
            }
        }
        await producer.close()
    }
}
