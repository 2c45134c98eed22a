import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Stage 3: offer the slot while the patient is still warm.
///
/// Consumes schedule.changed and appointment.changed (the availability mirror) and
/// plan.classified. Availability in a batch is applied first, so offers in the
/// same batch see it. Each classified case still waiting for its first offer goes to
/// the `OfferPlanner` (the same planner the escalation worker nudges through).
public struct OfferHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.planClassified, .scheduleChanged, .appointmentChanged]
    public var topics: TopicNames { planner.topics }
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    /// Searches, holds and records offers and nudges.
    public let planner: OfferPlanner

    public init(consumerName: String = "planrouter-offer", topics: TopicNames = .init(), settings: OfferSettings) {
        self.consumerName = consumerName
        self.planner = OfferPlanner(topics: topics, settings: settings)
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        do {
            for e in events where e.event.type == .scheduleChanged {
                do {
                    if try await !AvailabilityMirror.applySchedule(e, in: tx, now: now) {
                        logger.debug("older schedule.changed ignored", metadata: ["event.id": "\(e.event.id)"])
                    }
                } catch let r as EventRejection {
                    letters.append(DeadLetter(message: e.message, kind: r.kind.rawValue, reason: r.reason))
                }
            }
            let appointments = events.filter { $0.event.type == .appointmentChanged }
            if !appointments.isEmpty { letters += try await AvailabilityMirror.applyAppointments(appointments, in: tx, now: now) }
            let classified = events.filter { $0.event.type == .planClassified }
            if !classified.isEmpty { try await makeOffers(classified, in: tx, outbox: &outbox, now: now, logger: logger) }
        } catch {
            // The transaction rolls back: calendars cached with this batch's holds are wrong now.
            planner.invalidateCalendars()
            throw error
        }
        return letters
    }

    func makeOffers(_ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger) async throws {
        let (cases, skipped) = try await OfferCase.load(events, in: tx)
        try await recordSkipped(skipped, in: tx, now: now)
        try await planner.offer(cases, kind: .initial, in: tx, outbox: &outbox, now: now, logger: logger)
    }

    func recordSkipped(_ skipped: [(IncomingEvent, String)], in tx: PostgresConnection, now: Date) async throws {
        try await PlanEventsRepository.append(
            skipped.map { e, reason in
                let d = e.event.data
                return PlanEventRow(
                    organizationID: d["organization_id"]!.stringValue!, planID: d["plan_id"]!.stringValue!, locationID: d["location_id"]!.stringValue!,
                    kind: "offer_skipped", source: e.event.source, eventID: e.event.id, occurredAt: now, detail: .object(["reason": .string(reason)]))
            }, recordedAt: now, on: tx)
    }
}
