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

    public init(consumerName: String = "planrouter-payments", topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        let requests = IncomingEvent.decodeAll(events, as: DepositRequest.self, letters: &letters)
        guard !requests.isEmpty else { return letters }
        let known = try await PlansRepository.existing(
            requests.map { PlanKey(organizationID: $0.data.organizationID, planID: $0.data.planID) }, on: tx)
        for r in requests {
            guard known.contains(PlanKey(organizationID: r.data.organizationID, planID: r.data.planID)) else {
                letters.append(
                    DeadLetter(
                        message: r.message, kind: "unknown_plan",
                        reason: "no plan \(r.data.planID) in organization \(r.data.organizationID) for deposit \(r.data.requestID)"))
                continue
            }
            // No deadline given: Stripe's longest session (24 h).
            let dueBy = r.data.dueBy ?? now.addingTimeInterval(24 * 3600)
            if !(try await DepositsRepository.record(NewDeposit(request: r.data, dueBy: dueBy), now: now, on: tx)) {
                logger.debug("deposit already recorded under another event id", metadata: ["deposit.id": "\(r.data.requestID)"])
            }
        }
        return letters
    }
}
