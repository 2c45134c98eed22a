import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

/// How a write-back ends, the same for every PMS: Open Dental answers at once, NexHealth
/// later through its insertion webhook, and both close the `pms_writebacks` row here, in the
/// caller's transaction.
enum WritebackOutcome {
    /// The appointment the PMS made, as the connector publishes it.
    struct Written {
        /// The id the connector gives the same appointment state when it reads it, so it is published once.
        var eventID: String
        var event: AppointmentChanged
        var source: String
        var producer: ConnectorOffice
    }

    /// Closes the row as written, publishes appointment.changed with the PMS appointment id
    /// (unless this id was produced already) and records "in PMS" on the case.
    static func written(_ c: ClaimedWriteback, _ w: Written, topics: TopicNames, now: Date, on tx: PostgresConnection) async throws {
        let r = c.request
        guard try await WritebacksRepository.close(c.id, written: w.event.appointmentID, refused: nil, now: now, on: tx) else { return }
        // The booking's plan and codes: an asynchronous PMS reports the appointment without them.
        var event = w.event
        event.planID = event.planID ?? r.planID
        event.procedureCodes = event.procedureCodes ?? r.procedureCodes
        var outbox = OutboxBatch()
        if !(try await ConnectorStateRepository.recordProduced(w.producer, [w.eventID], now: now, on: tx)).isEmpty {
            outbox.append(
                CloudEvent(id: w.eventID, source: w.source, time: now, subject: r.planID, data: event), topic: topics[.appointmentChanged])
        }
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: r.organizationID, planID: r.planID, locationID: r.locationID, kind: "in_pms", source: w.source,
                    eventID: r.requestID, occurredAt: now,
                    detail: .object(["pms_appointment_id": .string(w.event.appointmentID), "attempts": .int(Int64(c.attempts))]))
            ], recordedAt: now, on: tx)
        try await outbox.insert(on: tx, now: now)
    }

    /// Closes the row as refused: the booking's reservation is released (its time is free again),
    /// the case goes to a coordinator, urgent, with the PMS's reason, and a `pms_refused` timer
    /// has the escalation worker text the patient fresh openings.
    static func refused(
        _ c: ClaimedWriteback, reason: String, source: String, topics: TopicNames, now: Date, on tx: PostgresConnection
    ) async throws {
        let r = c.request
        let key = PlanKey(organizationID: r.organizationID, planID: r.planID)
        guard try await WritebacksRepository.close(c.id, written: nil, refused: reason, now: now, on: tx) else { return }
        _ = try await CaseLockRepository.lock(organizations: [key.organizationID], plans: [key.planID], on: tx)
        if try await ReservationsRepository.releaseBooking(key, reason: "pms_refused", now: now, on: tx) {
            try await LocationsRepository.bumpCalendars([LocationKey(organizationID: r.organizationID, locationID: r.locationID)], on: tx)
        }
        var outbox = OutboxBatch()
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: r.organizationID, planID: r.planID, locationID: r.locationID, kind: "pms_refused", source: source,
                    eventID: r.requestID, occurredAt: now, detail: .object(["reason": .string(reason)]))
            ], recordedAt: now, on: tx)
        try await CaseHandOver.toCoordinator(
            [key], kind: .escalation,
            reason: "the booked time could not be confirmed in the PMS (\(reason)); call the patient to find a new time", urgent: true,
            source: source, topics: topics, from: [.booked], outbox: &outbox, now: now, on: tx)
        // The patient is told the time could not be confirmed, with fresh openings: the offer
        // planner's work, so the escalation worker does it when this timer fires (at once).
        try await TimersRepository.schedule(
            kind: TimersRepository.pmsRefusedKind, key: key, locationID: r.locationID, dueAt: now, now: now, on: tx)
        try await outbox.insert(on: tx, now: now)
    }
}
