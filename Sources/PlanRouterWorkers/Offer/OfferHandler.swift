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
            // Holds the new calendars no longer allow are released as the changes are applied.
            var released: [ReleasedHold] = []
            for e in events where e.event.type == .scheduleChanged {
                do {
                    let result = try await AvailabilityMirror.applySchedule(e, in: tx, now: now)
                    if !result.applied { logger.debug("older schedule.changed ignored", metadata: ["event.id": "\(e.event.id)"]) }
                    released += result.released
                } catch let r as EventRejection {
                    letters.append(DeadLetter(message: e.message, kind: r.kind.rawValue, reason: r.reason))
                }
            }
            let appointments = events.filter { $0.event.type == .appointmentChanged }
            if !appointments.isEmpty {
                let (refused, pms) = try await AvailabilityMirror.applyAppointments(appointments, in: tx, now: now)
                letters += refused
                released += pms
            }
            // Their cases get fresh openings now (and are told the earlier time is gone), or a coordinator.
            if !released.isEmpty { try await planner.reoffer(released, in: tx, outbox: &outbox, now: now, logger: logger) }
            let classified = events.filter { $0.event.type == .planClassified }
            if !classified.isEmpty { letters += try await makeOffers(classified, in: tx, outbox: &outbox, now: now, logger: logger) }
        } catch {
            // The transaction rolls back: calendars cached with this batch's holds are wrong now.
            planner.invalidateCalendars()
            throw error
        }
        return letters
    }

    /// Offers the classified cases; returns the events whose data does not decode as dead letters.
    func makeOffers(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var decoded: [(IncomingEvent, PlanClassified)] = []
        for e in events {
            switch e.decoded(PlanClassified.self) {
            case .success(let c): decoded.append((e, c))
            case .failure(let r): letters.append(DeadLetter(message: e.message, kind: r.kind.rawValue, reason: r.reason))
            }
        }
        let (cases, skipped) = try await OfferCase.load(decoded, in: tx)
        try await recordSkipped(skipped, in: tx, now: now)
        try await planner.offer(cases, kind: .initial, in: tx, outbox: &outbox, now: now, logger: logger)
        return letters
    }

    func recordSkipped(_ skipped: [(IncomingEvent, PlanClassified, String)], in tx: PostgresConnection, now: Date) async throws {
        try await PlanEventsRepository.append(
            skipped.map { e, c, reason in
                PlanEventRow(
                    organizationID: c.organizationID, planID: c.planID, locationID: c.locationID,
                    kind: "offer_skipped", source: e.event.source, eventID: e.event.id, occurredAt: now,
                    detail: .object(["reason": .string(reason)]))
            }, recordedAt: now, on: tx)
    }
}

extension IncomingEvent {
    /// The typed data, or why it does not decode (a dead letter's kind and reason).
    func decoded<D: EventData>(_: D.Type) -> Result<D, EventRejection> {
        do throws(EventRejection) {
            return .success(try event.decode(D.self))
        } catch {
            return .failure(error)
        }
    }
}
