import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// A validated event with the Kafka position it came from.
public struct IncomingEvent: Sendable {
    public var event: CloudEvent
    public var message: KafkaMessage
}

/// A validated event with its data decoded once into the event type's Swift value: what
/// handlers work with past their edge.
public struct Decoded<D: EventData>: Sendable {
    public var incoming: IncomingEvent
    public var data: D

    public var event: CloudEvent { incoming.event }
    public var message: KafkaMessage { incoming.message }
    public var eventKey: EventKey { EventKey(source: incoming.event.source, id: incoming.event.id) }
}

extension IncomingEvent {
    /// The event's data as `D`; throws `unexpected_type` for an event of another type and
    /// `invalid_data` naming the member's JSON pointer when the data does not fit.
    public func decode<D: EventData>(_: D.Type) throws(EventRejection) -> Decoded<D> {
        Decoded(incoming: self, data: try event.decode(D.self))
    }

    /// Decodes the events of `D`'s type; the others are left out, the ones that do not fit
    /// become dead letters (appended to `letters`).
    static func decodeAll<D: EventData>(_ events: [IncomingEvent], as _: D.Type, letters: inout [DeadLetter]) -> [Decoded<D>] {
        var out: [Decoded<D>] = []
        for e in events where e.event.type == D.eventType {
            do { out.append(try e.decode(D.self)) } catch { letters.append(DeadLetter(message: e.message, rejection: error)) }
        }
        return out
    }
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

    /// The dead letter of an event whose data its handler cannot decode.
    public init(message: KafkaMessage, rejection: EventRejection) {
        self.init(message: message, kind: rejection.kind.rawValue, reason: rejection.reason)
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

extension Decoded {
    /// The events whose plan is stored; the others become `unknown_plan` dead letters with
    /// `reason` (ids only: never a contact or a text).
    static func withKnownPlans(
        _ events: [Decoded<D>], plan: (D) -> PlanKey, reason: (D) -> String, in tx: PostgresConnection, letters: inout [DeadLetter]
    ) async throws -> [Decoded<D>] {
        guard !events.isEmpty else { return [] }
        let known = try await PlansRepository.existing(events.map { plan($0.data) }, on: tx)
        var out: [Decoded<D>] = []
        for e in events {
            if known.contains(plan(e.data)) {
                out.append(e)
            } else {
                letters.append(DeadLetter(message: e.message, kind: "unknown_plan", reason: reason(e.data)))
            }
        }
        return out
    }
}
