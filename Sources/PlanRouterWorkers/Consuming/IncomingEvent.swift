import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// A validated event with the Kafka position it came from.
public struct IncomingEvent: Sendable {
    public var event: CloudEvent
    public var message: KafkaMessage
}

/// An input the worker refuses, with the reason; it goes to `<topic>.dlq`.
public struct DeadLetter: Sendable {
    public var message: KafkaMessage
    public var kind: String
    public var reason: String

    /// `reason` is made storable (control characters escaped, at most 2,000 characters): it
    /// names paths and rules, and may quote an input's property names, never its values.
    public init(message: KafkaMessage, kind: String, reason: String) {
        self.message = message
        self.kind = kind
        self.reason = RejectionReason.storable(reason)
    }

    /// The original bytes and headers plus why and where from, keyed like the original.
    func record(consumer: String, at now: String) -> OutboxRecord {
        var headers: [String: String] = [
            "dlq.reason": reason,
            "dlq.kind": kind,
            "dlq.consumer": consumer,
            "dlq.source.topic": message.topic,
            "dlq.source.partition": String(message.partition),
            "dlq.source.offset": String(message.offset),
            "dlq.time": now,
        ]
        for h in message.headers where headers[h.key] == nil {
            // Original headers pass through when they are text; binary ones (and text with NUL,
            // which jsonb cannot store) are hex with a marker.
            if let v = h.value {
                headers[h.key] = v.contains(0) ? nil : String(validating: v, as: UTF8.self)
                if headers[h.key] == nil { headers[h.key] = "hex:" + Hex.encode(v) }
            }
        }
        return OutboxRecord(
            topic: TopicNames.deadLetter(of: message.topic), key: message.key,
            eventID: "dlq:\(message.topic):\(message.partition):\(message.offset)", payload: message.value, headers: headers)
    }
}
