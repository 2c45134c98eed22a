import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension OfferPlanner {
    /// "Show me later times" on the booking page, and the openings of a reschedule link: holds up to the
    /// rules' number of openings for an open or booked case (offered, escalated or booked) that start after `after` (the latest time the link offered), with
    /// the same eligibility as its offers (`OfferCase.slotRequest`: required role, preferred treating
    /// provider, fallback roles, chair minutes, preferences) inside the rules' horizon, in the caller's
    /// transaction and through the same hold insert as offers (the exclusion constraint arbitrates).
    /// Returns the new holds in start order; empty when nothing later fits the horizon.
    public func holdLater(
        _ key: PlanKey, after: Int64, in tx: PostgresConnection, now: Date, logger: Logger
    ) async throws -> [(reservationID: Int64, providerID: String)] {
        var cases = try await OfferCase.loadOffered([key], status: .offered, in: tx)
        if cases.isEmpty { cases = try await OfferCase.loadOffered([key], status: .escalated, in: tx) }
        // A booked case moving its appointment (the reschedule link): its booking stays busy in the search.
        if cases.isEmpty { cases = try await OfferCase.loadOffered([key], status: .booked, in: tx) }
        guard let c = cases.first else { return [] }
        try await rules.refreshIfNeeded(on: tx)
        let r = rules.rules(for: c.organizationID).rules.resolved(for: c.locationID)
        let tier = r.tier(named: c.tier) ?? r.tier(named: r.defaultTier)!
        guard let info = try await LocationsRepository.infos([c.location], on: tx)[c.location] else { return [] }
        let nowEpoch = Int64(now.timeIntervalSince1970)
        let plan = Plan(c: c, rules: r, tier: tier, path: .selfBook)
        var request = c.slotRequest(rules: r, tier: tier, now: nowEpoch, zone: info.timeZone, count: r.offer.openings)
        // Offers spread one opening a day, so "later" starts the day after the latest one offered.
        request.earliest = max(
            request.earliest, r.offer.spreadOverDays ? SlotSearch.endOfLocalDay(after, in: info.timeZone) : after + 60)
        let window = TimeRange(start: nowEpoch - 86_400, end: request.latest + 2 * 86_400)
        var held: [(opening: Opening, reservationID: Int64)] = []
        for _ in 0..<Self.holdRounds where held.count < r.offer.openings {
            // Read fresh from the database: a patient's click is rare, and the holds just won count as busy.
            guard let calendar = try await calendars.load([info], window: window, now: nowEpoch, in: tx)[c.location] else { break }
            request.count = r.offer.openings - held.count
            let found = SlotSearch.search(request, in: calendar).openings
            if found.isEmpty { break }
            let won = try await insertHolds(found.map { ($0, plan) }, now: now, in: tx)
            for (i, o) in found.enumerated() { if let id = won[i] { held.append((o, id)) } }
        }
        if !held.isEmpty {
            try await LocationsRepository.bumpCalendars([c.location], on: tx)
            calendars.invalidate(c.location)
        }
        logger.debug("later openings held", metadata: ["offer.later_openings": "\(held.count)"])
        return held.sorted { $0.opening.range.start < $1.opening.range.start }.map { ($0.reservationID, $0.opening.providerID) }
    }
}
