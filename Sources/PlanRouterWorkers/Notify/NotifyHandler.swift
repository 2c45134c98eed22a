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
        let messages = IncomingEvent.decodeAll(events, as: PatientMessage.self, letters: &letters)
        guard !messages.isEmpty else { return letters }
        let known = try await PlansRepository.existing(
            messages.map { PlanKey(organizationID: $0.data.organizationID, planID: $0.data.planID) }, on: tx)
        var rows: [NewDelivery] = []
        for m in messages {
            guard known.contains(PlanKey(organizationID: m.data.organizationID, planID: m.data.planID)) else {
                // Ids only: the message's contact and text stay out of the reason.
                letters.append(
                    DeadLetter(
                        message: m.message, kind: "unknown_plan",
                        reason: "no plan \(m.data.planID) in organization \(m.data.organizationID) for message \(m.data.messageID)"))
                continue
            }
            rows.append(NewDelivery(message: m.data, eventSource: m.event.source, eventID: m.event.id))
        }
        let recorded = try await MessageDeliveriesRepository.record(rows, now: now, on: tx)
        if recorded < rows.count {
            logger.debug("messages already recorded under another event id", metadata: ["messages.duplicate": "\(rows.count - recorded)"])
        }
        return letters
    }
}
