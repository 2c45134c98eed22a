import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The state change a worker kind applies to a batch of new (never seen) events.
///
/// `apply` runs inside the batch's transaction, together with the inbox insert and
/// the outbox insert; it must not commit, and must not talk to Kafka.
public protocol EventHandler: Sendable {
    /// The consumer group and inbox consumer name, e.g. `planrouter-classifier`.
    var consumerName: String { get }
    /// The event types this worker accepts (anything else on its topics is dead-lettered).
    var eventTypes: Set<EventType> { get }
    /// The topics this worker reads, each with the event types it may carry: a topic carries
    /// one type (docs/events.md), so any other type on it is dead-lettered as `unexpected_type`,
    /// never applied and never dropped. Usually `topics.carrying(eventTypes)`.
    var topicTypes: [String: Set<EventType>] { get }
    /// Applies new events; returns the ones it refuses (they go to the DLQ in the same transaction).
    func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    )
        async throws -> [DeadLetter]
}

extension EventHandler {
    /// Each of `eventTypes` on its default topic; handlers that take renamed topics override it.
    public var topicTypes: [String: Set<EventType>] { TopicNames().carrying(eventTypes) }
}

extension TopicNames {
    /// The topic of each of `types` with the types it carries (two types renamed onto one
    /// topic both belong on it).
    public func carrying(_ types: Set<EventType>) -> [String: Set<EventType>] {
        var out: [String: Set<EventType>] = [:]
        for t in types { out[self[t], default: []].insert(t) }
        return out
    }
}
