import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// What "Show me later times" did.
public enum LaterTimesResult: Sendable {
    /// An invalid, expired or used link, or a case no longer open.
    case notFound
    /// The page to show: the new openings, or the same ones with `noLaterTimes` (nothing later in the
    /// horizon), or unchanged (a repeated submit, or the limit reached: only the call-back is left).
    case shown(OfferView)
}

extension BookingService {
    /// "Show me later times": in one transaction (the offer row locked, so two submits serialize),
    /// holds the next openings after the latest one the link shows, with the same eligibility as the
    /// offer, releases the link's earlier holds (`release_reason = 'later_times'`: the patient never holds
    /// more than one offer's worth), makes the link name the new ones, and records a plan event.
    /// `round` is the count the page was rendered with: a second submit of the same page, or one past
    /// `laterTimesLimit`, changes nothing and shows the link as it is.
    public func showLater(token: String, round: Int?) async throws -> LaterTimesResult {
        let now = try await clock.now()
        guard let t = verified(token, now: now) else { return .notFound }
        return try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> LaterTimesResult in
            guard let offer = try await loadOffer(t.offer, lock: true, now: now, on: tx) else {
                refused("unknown_or_used")
                return .notFound
            }
            guard let find = configuration.laterOpenings, offer.laterTimesLeft, round == nil || round == offer.laterRound else {
                return .shown(offer)
            }
            let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
            let after = offer.openings.map(\.start).max() ?? Int64(now.timeIntervalSince1970)
            let found = try await find(key, after, tx, now)
            var detail: JSONObject = ["offer_id": .int(offer.offerID), "round": .int(Int64(offer.laterRound + 1))]
            if found.isEmpty {
                try await OffersRepository.countLaterRound(offer.offerID, key, on: tx)
                detail["openings"] = .int(0)
            } else {
                let kept = Set(found.map(\.reservationID))
                let earlier = try await ReservationsRepository.heldForCases([key], now: now, on: tx).map(\.reservationID)
                    .filter { !kept.contains($0) }
                let released = try await ReservationsRepository.releaseHolds(ids: earlier, reason: "later_times", now: now, on: tx)
                try await LocationsRepository.bumpCalendars(released.map(\.location), on: tx)
                try await OffersRepository.replaceWithLater(offer.offerID, key, openings: found, on: tx)
                detail["openings"] = .int(Int64(found.count))
                detail["released"] = .int(Int64(released.count))
            }
            try await PlanEventsRepository.append(
                [
                    PlanEventRow(
                        organizationID: key.organizationID, planID: key.planID, locationID: offer.locationID,
                        kind: found.isEmpty ? "later_times_none" : "later_times_offered", source: "planrouter/booking",
                        eventID: "later:\(offer.offerID):\(offer.laterRound + 1)", occurredAt: now, detail: .object(detail))
                ], recordedAt: now, on: tx)
            logger.debug(
                "patient asked for later times",
                metadata: ["booking.offer_id": "\(offer.offerID)", "booking.later_openings": "\(found.count)"])
            guard var view = try await loadOffer(t.offer, lock: false, now: now, on: tx) else { return .notFound }
            view.noLaterTimes = found.isEmpty
            return .shown(view)
        }
    }
}
