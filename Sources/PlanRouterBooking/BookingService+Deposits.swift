import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// What a paid deposit came to.
public enum DepositPaidOutcome: Sendable, Hashable {
    /// The provisional booking is confirmed (the write-back is in the outbox).
    case confirmed
    /// Recorded as paid; nothing else to do (deposit_after_booking).
    case recorded
    /// Paid, but the held time was gone or the case closed: a coordinator task (rebook or refund by hand).
    case unconfirmed
    /// The deposit was paid before (or is unknown): nothing changed.
    case unchanged
}

extension BookingService {
    /// The page of a used link whose deposit is unpaid (a provisional booking, or a booked case's
    /// deposit_after_booking): the deposit to pay and where.
    public func pendingDeposit(token: String) async throws -> PendingDeposit? {
        let now = try await clock.now()
        guard
            let t = try? BookingToken.verify(token, secret: configuration.bookingKey, now: Int64(now.timeIntervalSince1970.rounded(.down)))
        else { return nil }
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        return try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> PendingDeposit? in
            guard let d = try await DepositsRepository.pending(offerID: t.offerID, key, on: tx), d.dueBy > now,
                let r = try await OffersRepository.linked(offerID: t.offerID, key, lock: false, on: tx)
            else { return nil }
            return PendingDeposit(
                firstName: r.firstName, amountCents: d.amountCents, dueBy: d.dueBy,
                timeZone: TimeZone(identifier: r.timeZone) ?? TimeZone(identifier: "UTC")!, checkoutURL: d.checkoutURL, policy: d.policy)
        }
    }

    /// Applies a paid Checkout Session to its deposit, inside the webhook's transaction (scoped to the
    /// deposit's organization). deposit_to_confirm: the provisional booking is confirmed through the same
    /// path as a link's booking, and only now is the PMS write-back published. Lock order: plan, deposit.
    public func depositPaid(
        organizationID: String, depositID: String, outbox: inout OutboxBatch, now: Date, in tx: PostgresConnection
    ) async throws -> DepositPaidOutcome {
        guard let found = try await DepositsRepository.find(organizationID: organizationID, depositID: depositID, lock: false, on: tx)
        else { return .unchanged }
        let plan = try await PlansRepository.lockedState(found.key, on: tx)
        guard let d = try await DepositsRepository.find(organizationID: organizationID, depositID: depositID, lock: true, on: tx),
            try await DepositsRepository.setStatus(organizationID: organizationID, depositID: depositID, to: .paid, now: now, on: tx)
        else { return .unchanged }
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: organizationID, planID: d.key.planID, locationID: d.locationID, kind: "deposit_paid",
                    source: "planrouter/payments", occurredAt: now,
                    detail: .object([
                        "deposit_id": .string(depositID), "amount_cents": .int(d.amountCents), "policy": .string(d.policy.rawValue),
                    ]))
            ], recordedAt: now, on: tx)
        guard d.policy == .depositToConfirm else { return .recorded }
        let open = plan.flatMap { CaseStatus(rawValue: $0.status) }.map { $0 == .offered || $0 == .escalated } ?? false
        if open, let reservationID = d.reservationID,
            let h = try await ReservationsRepository.lockHold(reservationID, of: d.key, now: now, earliestStart: now, on: tx),
            try await ReservationsRepository.holdFitsMirror(reservationID, of: d.key, on: tx)
        {
            let zone =
                try await LocationsRepository.infos([LocationKey(organizationID: organizationID, locationID: d.locationID)], on: tx)
                .values.first?.timeZone ?? TimeZone(identifier: "UTC")!
            _ = try await confirm(
                d.key, locationID: d.locationID, timeZone: zone, opening: HeldOpening(h),
                detail: ["via": "deposit", "deposit_id": .string(depositID)], outbox: &outbox, now: now, in: tx)
            return .confirmed
        }
        try await CaseTasks.create(
            d.key, kind: .depositUnconfirmed,
            reason: "the deposit was paid but the held time could not be confirmed (the hold ran out, the time was taken or the case "
                + "closed); book a time with the patient or refund the deposit in Stripe",
            urgent: true, extraContext: .object(["deposit_id": .string(depositID), "amount_cents": .int(d.amountCents)]),
            source: "planrouter/payments", topics: configuration.topics, outbox: &outbox, now: now, on: tx)
        return .unconfirmed
    }

    /// Books opening `number` (1-based, as the text listed them) of the newest open offer texted to
    /// `phone`, through the same path as the link. nil when no open offer was texted to the number.
    public func bookReply(organizationID: String, phone: String, number: Int) async throws -> BookingResult? {
        let now = try await clock.now()
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await pool.withTransaction(scopedTo: .organization(organizationID)) { tx -> BookingResult? in
                    guard let o = try await OffersRepository.latestOpenOffer(organizationID: organizationID, phone: phone, on: tx) else {
                        return nil
                    }
                    // Expiry is the link's concern; the offer's own state (used, case open, holds valid) decides here.
                    let t = BookingToken(offerID: o.offerID, organizationID: organizationID, planID: o.key.planID, expiresAt: 0)
                    guard number >= 1, number <= o.reservationIDs.count else {
                        guard let view = try await loadOffer(t.offer, lock: false, now: now, on: tx) else { return .notFound }
                        return .conflict(view)
                    }
                    let result = try await bookInTransaction(
                        t.offer, reservationID: o.reservationIDs[number - 1], via: .link, now: now, in: tx)
                    switch result {
                    case .booked: metrics.booked()
                    case .conflict: metrics.conflict()
                    case .notFound: break
                    }
                    return result
                }
            } catch let e as PostgresError where e.isRetriable && attempt < 3 {
                logger.debug("reply booking transaction retried", metadata: ["booking.attempt": "\(attempt)", "error.code": "\(e.code)"])
            }
        }
    }
}
