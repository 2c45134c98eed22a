import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The consuming half of `planrouter worker payments`: records each `payments.deposit-requests`
/// event as a `requested` deposit, in the batch's transaction with its inbox entry. It never calls
/// Stripe: `DepositSessions` does, from the table (as the notify worker's sender does for texts).
public struct PaymentsHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.depositRequests]
    public let topics: TopicNames
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }

    /// How long before a booked case's deposit link runs out its reminder goes.
    static let reminderBeforeDue: TimeInterval = 4 * 3600

    public init(consumerName: String = "planrouter-payments", topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        let decoded = IncomingEvent.decodeAll(events, as: DepositRequest.self, letters: &letters)
        let requests = try await Decoded.withKnownPlans(
            decoded,
            plan: { PlanKey(organizationID: $0.organizationID, planID: $0.planID) },
            reason: { "no plan \($0.planID) in organization \($0.organizationID) for deposit \($0.requestID)" }, in: tx, letters: &letters)
        for r in requests {
            // No deadline given: Stripe's longest session (24 h).
            let dueBy = r.data.dueBy ?? now.addingTimeInterval(24 * 3600)
            guard try await DepositsRepository.record(NewDeposit(request: r.data, dueBy: dueBy), now: now, on: tx) else {
                logger.debug("deposit already recorded under another event id", metadata: ["deposit.id": "\(r.data.requestID)"])
                continue
            }
            // Booked already (deposit_after_booking): a reminder while the checkout link still works.
            let remindAt = dueBy.addingTimeInterval(-Self.reminderBeforeDue)
            if (r.data.policy ?? .depositAfterBooking) == .depositAfterBooking, remindAt > now.addingTimeInterval(3600) {
                try await TimersRepository.scheduleDepositReminder(
                    PlanKey(organizationID: r.data.organizationID, planID: r.data.planID), locationID: r.data.locationID,
                    depositID: r.data.requestID, dueAt: remindAt, now: now, on: tx)
            }
        }
        return letters
    }
}
