import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The consuming half of `planrouter worker notify`: records each `patient.messages`
/// event as a queued delivery, in the batch's transaction with its inbox entry. It never
/// calls a provider: `NotifySender` does, from the table, so a re-published event (same
/// event id: the inbox; a new event id for the same message id: the table's unique key)
/// can never become a second text.
public struct NotifyHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.patientMessages]
    public let topics: TopicNames
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }

    public init(consumerName: String = "planrouter-notify", topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        let decoded = IncomingEvent.decodeAll(events, as: PatientMessage.self, letters: &letters)
        let messages = try await Decoded.withKnownPlans(
            decoded,
            plan: { PlanKey(organizationID: $0.organizationID, planID: $0.planID) },
            reason: { "no plan \($0.planID) in organization \($0.organizationID) for message \($0.messageID)" }, in: tx, letters: &letters)
        let rows = messages.map { NewDelivery(message: $0.data, eventSource: $0.event.source, eventID: $0.event.id) }
        let recorded = try await MessageDeliveriesRepository.record(rows, now: now, on: tx)
        if recorded < rows.count {
            logger.debug("messages already recorded under another event id", metadata: ["messages.duplicate": "\(rows.count - recorded)"])
        }
        return letters
    }
}
