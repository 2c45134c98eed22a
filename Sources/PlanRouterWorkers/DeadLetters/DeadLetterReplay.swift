import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// Re-publishes dead letters to the topic they came from, after the cause is fixed:
/// reads `<topic>.dlq` from the beginning with a fresh consumer group (nothing is
/// committed, so every run sees the whole DLQ), keeps the records whose time is in
/// the range, and produces each one's original bytes, key and headers (minus the
/// `dlq.*` ones the consumer added) to the source topic.
public struct DeadLetterReplay: Sendable {
    /// The source topic, e.g. `plan.accepted`; the DLQ read is `<sourceTopic>.dlq`.
    public var sourceTopic: String
    /// Records at or after this time (inclusive), by `dlq.time` or else the record timestamp.
    public var from: Date?
    /// Records before this time (exclusive).
    public var to: Date?

    public init(sourceTopic: String, from: Date? = nil, to: Date? = nil) {
        self.sourceTopic = sourceTopic
        self.from = from
        self.to = to
    }

    public var deadLetterTopic: String { TopicNames.deadLetter(of: sourceTopic) }

    /// Consumer settings for the one-off read; the operator's properties win.
    /// A short session keeps the fresh group's first join quick.
    public static let consumerDefaults = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]

    /// When a dead letter was written: its `dlq.time` header, else the record timestamp.
    public static func time(of message: KafkaMessage) -> Date? {
        if let h = message.headers.last(where: { $0.key == "dlq.time" }), let v = h.value,
            let text = String(validating: v, as: UTF8.self), let date = RFC3339.parse(text)
        {
            return date
        }
        return message.timestamp
    }

    public static func header(_ key: String, of message: KafkaMessage) -> String? {
        message.headers.last { $0.key == key }?.value.flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// The original headers: every header but `dlq.*`. Binary originals were stored as
    /// `hex:<hex>` and are decoded back.
    public static func originalHeaders(_ headers: [KafkaHeader]) -> [KafkaHeader] {
        headers.filter { !$0.key.hasPrefix("dlq.") }.map { h in
            guard let v = h.value, let text = String(validating: v, as: UTF8.self), text.hasPrefix("hex:"),
                let bytes = Hex.decode(String(text.dropFirst(4)))
            else { return h }
            return KafkaHeader(key: h.key, value: bytes)
        }
    }

    public func selects(_ message: KafkaMessage) -> Bool {
        guard from != nil || to != nil else { return true }
        guard let t = Self.time(of: message) else { return false }
        if let from, t < from { return false }
        if let to, t >= to { return false }
        return true
    }

    /// The message to produce for a dead letter: original bytes, key and headers.
    public func republished(_ letter: KafkaMessage) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: sourceTopic, key: letter.key, value: letter.value, headers: Self.originalHeaders(letter.headers))
    }

    /// Reads the whole DLQ: polls until the group has an assignment and no message has
    /// arrived for `idle`, or `timeout` passes. Closes the consumer.
    public static func readAll(_ consumer: KafkaConsumer, idle: Duration, timeout: Duration) async throws -> [KafkaMessage] {
        var out: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        var lastProgress = ContinuousClock.now
        var assigned = false
        do {
            while ContinuousClock.now < deadline {
                let batch = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(200))
                if !batch.isEmpty {
                    out += batch
                    lastProgress = ContinuousClock.now
                } else if !assigned {
                    if !consumer.assignment.isEmpty {
                        assigned = true
                        lastProgress = ContinuousClock.now
                    }
                } else if ContinuousClock.now - lastProgress >= idle {
                    break
                }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        if !assigned && out.isEmpty {
            throw KafkaError(code: .topic, message: "no partition of the dead-letter topic was assigned within \(timeout): does it exist?")
        }
        return out.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    public struct Summary: Sendable {
        public var read: Int
        public var selected: Int
        public var published: Int
        public var failures: [(message: KafkaMessage, error: KafkaError)]
    }

    /// Publishes the selected dead letters (in partition and offset order) and waits for every delivery report.
    public func publish(_ selected: [KafkaMessage], read: Int, producer: KafkaProducer) async -> Summary {
        let results = await producer.sendBatch(selected.map(republished))
        var failures: [(KafkaMessage, KafkaError)] = []
        for (m, r) in zip(selected, results) {
            if case .failure(let e) = r { failures.append((m, e)) }
        }
        return Summary(read: read, selected: selected.count, published: selected.count - failures.count, failures: failures)
    }
}
