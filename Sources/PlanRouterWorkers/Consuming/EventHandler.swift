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
    /// Applies new events; returns the ones it refuses (they go to the DLQ in the same transaction).
    func apply(_ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger)
        async throws -> [DeadLetter]
}
