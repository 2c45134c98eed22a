import Foundation
import Logging
import PlanRouterKafka

/// Shared helpers for the Kafka integration tests. Every test starts its own mock
/// cluster (real Kafka protocol over TCP), so tests may run in parallel.
enum KafkaTestSupport {
    static var logger: Logger {
        var logger = Logger(label: "planrouter.kafka.test")
        logger.logLevel = .warning
        return logger
    }

    /// The mock broker never lets a group with a session of 2 s or less join, and each
    /// rebalance waits `session.timeout.ms` − 1 s.
    static let consumerProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8))"
    }

    static func makeConsumer(_ cluster: KafkaMockCluster, group: String, topic: String) throws -> KafkaConsumer {
        try KafkaConsumer(
            bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [topic],
            properties: consumerProperties, logger: logger)
    }

    static func messages(topic: String, count: Int, prefix: String = "m") -> [KafkaOutgoingMessage] {
        (0..<count).map { index in
            KafkaOutgoingMessage(
                topic: topic,
                key: Array("\(prefix)-key-\(index)".utf8),
                value: Array("\(prefix)-value-\(index)".utf8),
                headers: [
                    KafkaHeader(key: "index", value: Array("\(index)".utf8)),
                    KafkaHeader(key: "empty", value: nil),
                ])
        }
    }

    /// Polls until `done` says so or `timeout` passes (then the caller's expectations fail).
    /// `onBatch` sees every non-empty batch.
    @discardableResult
    static func pollUntil(
        _ consumer: KafkaConsumer,
        timeout: Duration = .seconds(30),
        onBatch: ([KafkaMessage]) async throws -> Void = { _ in },
        done: () -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if done() { return true }
            let batch = try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
            if !batch.isEmpty { try await onBatch(batch) }
        }
        return done()
    }

    static func key(_ message: KafkaMessage) -> String { String(decoding: message.key ?? [], as: UTF8.self) }
}
