import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The end of a provisional booking's hold (deposit_to_confirm), fired by the escalation worker
/// in its timer transaction: when the deposit is still unpaid, the deposit is `expired`, the held
/// time is released, the patient is told, and the case's ladder goes on: the steps the provisional
/// booking paused resume, and fresh openings go out at once (a nudge). A paid deposit ends nothing.
enum DepositExpiry {
    static func expire(
        _ timers: [DueTimer], offers: OfferPlanner, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date,
        sendAfter: (DueTimer) -> Date?, logger: Logger
    ) async throws {
        guard !timers.isEmpty else { return }
        // Lock order: cases (the caller), then locations, then their reservations.
        try await CaseLockRepository.lockLocations(timers.map(\.location), on: tx)
        var toNudge: [PlanKey] = []
        for t in timers {
            guard let d = try await DepositsRepository.latest(t.key, on: tx), d.policy == .depositToConfirm,
                d.status == .requested || d.status == .expired
            else { continue }
            _ = try await DepositsRepository.setStatus(
                organizationID: d.key.organizationID, depositID: d.depositID, to: .expired, now: now, on: tx)
            let released = try await ReservationsRepository.releaseHolds(
                ids: d.reservationID.map { [$0] } ?? [], reason: "deposit_unpaid", now: now, on: tx)
            try await LocationsRepository.bumpCalendars(
                released.map { LocationKey(organizationID: $0.key.organizationID, locationID: $0.locationID) }, on: tx)
            try await TimersRepository.resumePaused(ofDepositTimer: t.id, now: now, on: tx)
            try await PlanEventsRepository.append(
                [
                    PlanEventRow(
                        organizationID: t.organizationID, planID: t.planID, locationID: t.locationID, kind: "deposit_expired",
                        source: "planrouter/payments", occurredAt: now,
                        detail: .object(["deposit_id": .string(d.depositID), "hold_released": .bool(!released.isEmpty)]))
                ], recordedAt: now, on: tx)
            if let m = try await releasedMessage(d, sendAfter: sendAfter(t), now: now, on: tx) {
                outbox.append(m, topic: offers.topics[.patientMessages])
            }
            toNudge.append(t.key)
        }
        guard !toNudge.isEmpty else { return }
        logger.debug("provisional bookings released for want of a deposit", metadata: ["cases": "\(toNudge.count)"])
        try await offers.nudge(toNudge, in: tx, outbox: &outbox, now: now, logger: logger)
    }

    /// Reminders of unpaid deposits of booked cases (deposit_after_booking): the checkout link again.
    static func remind(
        _ timers: [DueTimer], topics: TopicNames, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date,
        sendAfter: (DueTimer) -> Date?
    ) async throws {
        for t in timers {
            guard let d = try await DepositsRepository.latest(t.key, on: tx), d.status == .requested, d.dueBy > now, let url = d.checkoutURL
            else { continue }
            let amount = MessageTemplates.dollars(d.amountCents)
            if let m = try await message(
                d, id: "deposit-reminder-\(d.depositID)", subject: "Your deposit",
                body: { "Hi \($0), a reminder: the \(amount) deposit for your visit is still open. Pay here: \(url)" }, link: url,
                sendAfter: sendAfter(t), now: now,
                on: tx)
            {
                outbox.append(m, topic: topics[.patientMessages])
            }
        }
    }

    static func releasedMessage(_ d: DepositRow, sendAfter: Date?, now: Date, on tx: PostgresConnection) async throws -> CloudEvent? {
        try await message(
            d, id: "deposit-expired-\(d.depositID)", subject: "The time we held for you",
            body: {
                "Hi \($0), we did not receive the deposit, so we released the time we were holding for you. We will send you new openings."
            }, link: nil, sendAfter: sendAfter, now: now, on: tx)
    }

    /// A deposit message on the patient's channel; nil without one.
    static func message(
        _ d: DepositRow, id: String, subject: String, body: (String) -> String, link: String?, sendAfter: Date?, now: Date,
        on tx: PostgresConnection
    ) async throws -> CloudEvent? {
        guard let plan = try await PlansRepository.stored([d.key], on: tx).first,
            let patient = try? JSONParser.parse(plan.patientJSON), let channel = PatientContact.channel(patient),
            let kind = MessageChannel(rawValue: channel.name)
        else { return nil }
        let firstName = patient["first_name"]?.stringValue ?? "there"
        let m = PatientMessage(
            messageID: id, organizationID: d.key.organizationID, locationID: d.locationID, planID: d.key.planID, patientID: d.patientID,
            channel: kind, to: channel.to, kind: .deposit, subject: kind == .email ? subject : nil, body: body(firstName), link: link,
            sendAfter: sendAfter)
        return CloudEvent(id: m.messageID, source: "planrouter/payments", time: now, subject: d.key.planID, data: m)
    }
}
