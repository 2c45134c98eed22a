import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Offers and re-offers: for each case, search openings in the location's in-memory
/// calendar, hold them (the exclusion constraint is the arbiter; a hold that loses a
/// race is retried with the next openings), record the offer, emit the patient message,
/// deposit request or coordinator task, and start the escalation ladder — all in the
/// caller's transaction. A case is never silently dropped: no opening in the horizon
/// becomes a "no availability" coordinator task.
///
/// The one home of the offer logic: the offer worker's `OfferHandler` makes first offers
/// through it, the escalation worker's nudges (a ladder's re-offer) go through it too.
public struct OfferPlanner: Sendable {
    public let topics: TopicNames
    let settings: OfferSettings
    let rules = RulesCache()
    let calendars: CalendarStore

    /// Rounds of hold attempts. A hold loses only to a transaction that then commits, so
    /// each lost round means one competitor finished; 8 covers that many concurrent offers.
    static let holdRounds = 8

    public init(topics: TopicNames = .init(), settings: OfferSettings) {
        self.topics = topics
        self.settings = settings
        self.calendars = CalendarStore(budgetBytes: settings.calendarCacheBytes)
    }

    /// Drops every cached calendar (after a rolled-back transaction that held openings).
    func invalidateCalendars() { calendars.invalidateAll() }

    /// What the calendar cache holds now, and its loads and evictions so far (`/metrics`).
    public var calendarCacheUsage: CalendarCacheUsage { calendars.usage }

    /// An initial offer (after classification), a nudge (a ladder step) or a re-offer (the
    /// mirror released a held opening: a schedule or PMS change).
    public enum OfferKind: String, Sendable {
        case initial
        case nudge
        case reoffer
        /// The PMS refused the booked time (a write-back refusal): fresh openings, told so.
        case refusal
    }

    /// The offer lead time: an opening is offered, re-offered, shown and bookable only when it
    /// starts at least this long after now. The rules' `offer.same_visit_buffer` (15 min by
    /// default), the shortest lead any slot request uses.
    public static func leadSeconds(_ rules: RoutingRules) -> Int64 { Int64(max(0, rules.offer.sameVisitBufferMinutes)) * 60 }

    /// What one case gets.
    struct Plan {
        var c: OfferCase
        var rules: RoutingRules
        var tier: RoutingRules.Tier
        var path: CasePath
        var request: SlotRequest?
        /// Whose openings were offered (treating provider, required role, fallback role).
        var providerMatch: SlotSearch.ProviderMatch?
        var held: [(opening: Opening, reservationID: Int64)] = []
        var note: String?
        /// When the location's schedule mirror was last refreshed, if longer ago than the window:
        /// the case does not self-book, it goes to a coordinator ("calendar stale").
        var calendarStaleSince: Date?
    }

    /// Nudges cases still waiting (status offered): the patient gets the openings still
    /// held for them, or fresh ones, newly held, when the earlier holds expired or were
    /// taken. Called by the escalation worker when a ladder's nudge step fires.
    public func nudge(
        _ keys: [PlanKey], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        let cases = try await OfferCase.loadOffered(keys, in: tx)
        do {
            try await offer(cases.filter { $0.channel != nil }, kind: .nudge, in: tx, outbox: &outbox, now: now, logger: logger)
        } catch {
            calendars.invalidateAll()
            throw error
        }
    }

    /// Re-offers cases (status offered) whose held openings the mirror just released: the
    /// openings still valid plus fresh ones, with a message saying the earlier time is gone
    /// (`opening_withdrawn`); a coordinator task when nothing fits or no channel is left.
    /// Holds released by the patient's own PMS appointment (the front desk booked them) are
    /// not re-offered. Called by the offer worker in the transaction that applied the change.
    func reoffer(
        _ released: [ReleasedHold], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        let keys = Array(Set(released.filter { !$0.byOwnAppointment }.map(\.key)))
            .sorted { ($0.organizationID, $0.planID) < ($1.organizationID, $1.planID) }
        guard !keys.isEmpty else { return }
        let cases = try await OfferCase.loadOffered(keys, in: tx)
        logger.debug("re-offering cases whose holds the calendar released", metadata: ["cases": "\(cases.count)"])
        try await offer(cases, kind: .reoffer, in: tx, outbox: &outbox, now: now, logger: logger)
    }

    /// Offers fresh openings to cases whose booked time the PMS refused (status escalated: the
    /// coordinator task stays open), with a text saying the time could not be confirmed
    /// (`opening_withdrawn`). Cases without a channel, or with nothing to offer, keep only the task.
    /// Called by the escalation worker when the write-back's `pms_refused` timer fires.
    public func reofferAfterRefusal(
        _ keys: [PlanKey], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        let cases = try await OfferCase.loadOffered(keys, status: .escalated, in: tx).filter { $0.channel != nil }
        do {
            try await offer(cases, kind: .refusal, in: tx, outbox: &outbox, now: now, logger: logger)
        } catch {
            calendars.invalidateAll()
            throw error
        }
    }

    func offer(
        _ cases: [OfferCase], kind: OfferKind, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        guard !cases.isEmpty else { return }
        // Calendars cached from here on hold this transaction's writes (its holds, and what
        // it read of its own earlier changes); if it does not commit, none of them is true.
        tx.onRollback { [calendars] in calendars.invalidateAll() }
        try await rules.refreshIfNeeded(on: tx)
        let locations = Array(Set(cases.map(\.location))).sorted()
        // Expired holds still count for the exclusion constraint until released. Queued: it
        // goes to the server with the next read, so the calendars read below see it.
        try await ReservationsRepository.releaseExpiredHoldsLater(at: locations, now: now, on: tx)
        // The offers' ids are needed for their links before the offers are written; taken in
        // the next read's round trip, the offers insert can be queued for COMMIT.
        let offerIDs = kind == .initial ? try await OffersRepository.reserveIDsLater(cases.count, on: tx) : nil
        let infos = try await LocationsRepository.infos(locations, on: tx)
        let nowEpoch = Int64(now.timeIntervalSince1970)
        // Locations whose schedule mirror was not refreshed within the window do not self-book
        // (a mirror never synced is not stale: `LocationsRepository.staleCalendars`).
        let staleBefore = now.addingTimeInterval(-Double(settings.calendarStaleAfter.components.seconds))
        var stale: [LocationKey: Date] = [:]
        for (key, info) in infos {
            if let synced = info.scheduleSyncedAt, synced < staleBefore { stale[key] = synced }
        }

        var plans: [Plan] = cases.map { c in
            let r = rules.rules(for: c.organizationID).rules.resolved(for: c.locationID)
            let tier = r.tier(named: c.tier) ?? r.tier(named: r.defaultTier)!
            // A nudge or re-offer reaches a patient who has left: by link, whatever the first path was.
            var p = Plan(c: c, rules: r, tier: tier, path: kind == .initial ? c.path : .selfBook)
            if let since = stale[c.location] {
                p.calendarStaleSince = since
                p.path = .callback
                p.note = "calendar stale"
            }
            return p
        }
        if kind != .initial {
            // Openings still held for the case are offered again rather than replaced, if they
            // still start after now + the lead time; the ones that do not are released.
            var index: [PlanKey: Int] = [:]
            for i in plans.indices { index[plans[i].c.key] = i }
            var byKey: [PlanKey: [(Opening, Int64)]] = [:]
            var tooLate: [Int64] = []
            for r in try await ReservationsRepository.heldForCases(plans.map(\.c.key), now: now, on: tx) {
                guard let i = index[r.key], plans[i].calendarStaleSince == nil else { continue }
                if r.start < nowEpoch + Self.leadSeconds(plans[i].rules) {
                    tooLate.append(r.reservationID)
                    continue
                }
                let o = Opening(providerID: r.providerID, operatoryID: r.operatoryID, range: TimeRange(start: r.start, end: r.end))
                byKey[r.key, default: []].append((o, r.reservationID))
            }
            let released = try await ReservationsRepository.releaseHolds(ids: tooLate, reason: "too_late", now: now, on: tx)
            try await LocationsRepository.bumpCalendars(released.map(\.location), on: tx)
            for i in plans.indices { plans[i].held = (byKey[plans[i].c.key] ?? []).map { (opening: $0.0, reservationID: $0.1) } }
        }
        // Search every location in memory, then hold everything in one statement; only the
        // locations where a hold lost a race are reloaded and searched again.
        var calendarsByLocation: [LocationKey: (info: LocationInfo, window: TimeRange, calendar: LocationCalendar)] = [:]
        var pending: [Int] = []
        var wanted: [(info: LocationInfo, window: TimeRange)] = []
        // The whole horizon per location, loaded only where the first weeks leave a search undecided.
        var horizonWindows: [LocationKey: TimeRange] = [:]
        for loc in locations {
            guard let info = infos[loc] else { continue }
            // A re-offer tops the case up to its number of openings; the others search only when nothing is held.
            let indices = plans.indices.filter {
                plans[$0].c.location == loc && plans[$0].path != .callback
                    && (kind == .reoffer ? plans[$0].held.count < plans[$0].rules.offer.openings : plans[$0].held.isEmpty)
            }
            guard !indices.isEmpty else { continue }
            let horizon = indices.map { plans[$0].rules.offer.horizonDays }.max()!
            let whole = TimeRange(start: nowEpoch - 86_400, end: nowEpoch + Int64(horizon + 2) * 86_400)
            horizonWindows[loc] = whole
            wanted.append((info, TimeRange(start: whole.start, end: min(whole.end, nowEpoch + Self.firstWindowSeconds))))
            pending += indices
        }
        for (loc, cached) in try await calendars.calendars(for: wanted, now: nowEpoch, in: tx) {
            calendarsByLocation[loc] = (infos[loc]!, cached.window, cached.calendar)
        }
        var heldLocations = Set<LocationKey>()
        for round in 0..<OfferPlanner.holdRounds where !pending.isEmpty {
            if round > 0 {
                // Reload what the database now says where holds lost (together, over the
                // windows' union), and try the next openings.
                let lost = Set(pending.map { plans[$0].c.location }).map { calendarsByLocation[$0]! }
                let window = TimeRange.covering(lost.map(\.window))
                for (loc, calendar) in try await calendars.load(lost.map(\.info), window: window, now: nowEpoch, in: tx) {
                    calendarsByLocation[loc]!.calendar = calendar
                    calendarsByLocation[loc]!.window = window
                }
            }
            var wanted: [(index: Int, opening: Opening)] = []
            let byLocation = Dictionary(grouping: pending) { plans[$0].c.location }
            var widen: [LocationKey] = []
            for loc in byLocation.keys.sorted() {
                if let found = search(byLocation[loc]!, at: loc, plans: &plans, calendars: &calendarsByLocation, now: nowEpoch) {
                    wanted += found
                } else {
                    widen.append(loc)
                }
            }
            if !widen.isEmpty {
                // Their first weeks did not settle every search: load the whole horizon (one round
                // of queries for all of them; kept in the cache like any calendar) and search again.
                let whole = widen.map { (info: calendarsByLocation[$0]!.info, window: horizonWindows[$0]!) }
                let loaded: [LocationKey: (calendar: LocationCalendar, window: TimeRange)]
                if round == 0 {
                    loaded = try await calendars.calendars(for: whole, now: nowEpoch, in: tx)
                } else {
                    // After a lost race a cached calendar would lack this transaction's own holds
                    // and the competitor's: read the database, as the reload above does.
                    let window = TimeRange.covering(whole.map(\.window))
                    loaded = try await calendars.load(whole.map(\.info), window: window, now: nowEpoch, in: tx).mapValues { ($0, window) }
                }
                for (loc, found) in loaded {
                    calendarsByLocation[loc]!.calendar = found.calendar
                    calendarsByLocation[loc]!.window = found.window
                }
                for loc in widen {
                    // The whole horizon covers every request's latest end, so each search is settled.
                    wanted += search(
                        byLocation[loc]!, at: loc, plans: &plans, calendars: &calendarsByLocation, knownUntil: .max, now: nowEpoch)!
                }
            }
            if wanted.isEmpty { break }
            let won = try await insertHolds(wanted.map { ($0.opening, plans[$0.index]) }, now: now, in: tx)
            var losers = Set<Int>()
            for (k, w) in wanted.enumerated() {
                if let id = won[k] {
                    plans[w.index].held.append((w.opening, id))
                    heldLocations.insert(plans[w.index].c.location)
                } else {
                    losers.insert(w.index)
                }
            }
            pending = losers.sorted()
            if !pending.isEmpty {
                logger.debug(
                    "holds lost a race; retrying with the next openings", metadata: ["cases": "\(pending.count)", "round": "\(round)"])
            }
        }
        if !heldLocations.isEmpty {
            // Queued, so no round trip of its own. The version it makes is the one read above
            // plus one, unless another writer bumps the location in between; then the version
            // read next time differs and the calendar is reloaded (a miss, never a wrong hit:
            // versions only grow, and if this transaction does not commit the cache is dropped).
            try await LocationsRepository.bumpCalendars(Array(heldLocations), on: tx)
            for loc in heldLocations {
                if let e = calendarsByLocation[loc] {
                    calendars.update(e.calendar, of: loc, version: e.info.calendarVersion + 1, window: e.window)
                }
            }
        }
        if let offerIDs {
            try await record(plans, offerIDs: try await offerIDs.ids(on: tx), infos: infos, in: tx, outbox: &outbox, now: now)
        } else {
            try await recordNudges(plans, kind: kind, infos: infos, in: tx, outbox: &outbox, now: now)
        }
    }

    /// The earliest start of a same-day opening in a self-book link: `offer.same_day_lead` after the
    /// message can go out (now, or the end of the location's quiet hours), never inside the lead time.
    /// The caller takes the earlier of this and the next business day, so a lead that runs past
    /// today (or a message held until tomorrow) leaves the offer as it was.
    static func sameDayEarliest(_ rules: RoutingRules, info: LocationInfo, now: Int64) -> Int64 {
        guard rules.offer.sameDayLeadMinutes > 0 else { return .max }
        let sendAt =
            (info.quietHours ?? rules.quietHours).end(after: Date(timeIntervalSince1970: Double(now)), in: info.timeZone)
            .map { Int64($0.timeIntervalSince1970) } ?? now
        return max(sendAt + Int64(rules.offer.sameDayLeadMinutes) * 60, now + leadSeconds(rules))
    }

    /// How much of a calendar is loaded first: from a day before now to three weeks after. The
    /// first openings a case is offered are nearly always within it, and a calendar of three weeks
    /// is a quarter of the default 90-day horizon's rows and memory. Where a search is not settled
    /// within it (`SlotSearch.search(_:in:knownUntil:)`), the location's whole horizon is loaded.
    static let firstWindowSeconds: Int64 = 21 * 86_400

    /// Searches the cases `indices` at one location, in order, each after the openings found for
    /// the ones before it are reserved in the calendar. Nil, with nothing changed, when the calendar's
    /// window leaves any of the searches undecided; the caller loads more of the calendar and asks again.
    func search(
        _ indices: [Int], at loc: LocationKey, plans: inout [Plan],
        calendars: inout [LocationKey: (info: LocationInfo, window: TimeRange, calendar: LocationCalendar)], knownUntil: Int64? = nil,
        now: Int64
    ) -> [(index: Int, opening: Opening)]? {
        let e = calendars[loc]!
        let known = knownUntil ?? e.window.end
        var calendar = e.calendar
        var updated: [(Int, Plan)] = []
        var found: [(index: Int, opening: Opening)] = []
        for i in indices {
            var p = plans[i]
            guard let openings = search(&p, calendar: calendar, info: e.info, knownUntil: known, now: now) else { return nil }
            for o in openings {
                calendar.reserve(o)
                found.append((i, o))
            }
            updated.append((i, p))
        }
        for (i, p) in updated { plans[i] = p }
        calendars[loc]!.calendar = calendar
        return found
    }

    /// Builds the case's slot request on first use; a same-visit case with nothing left today falls back to a link.
    /// Nil when the calendar, known until `known`, cannot settle the search.
    func search(_ p: inout Plan, calendar: LocationCalendar, info: LocationInfo, knownUntil known: Int64, now: Int64) -> [Opening]? {
        let wanted = p.rules.offer.openings - p.held.count
        if p.request == nil {
            var r = p.c.slotRequest(rules: p.rules, tier: p.tier, now: now, zone: info.timeZone, count: wanted)
            r.earliest = p.c.bounded(min(r.earliest, Self.sameDayEarliest(p.rules, info: info, now: now)))
            if p.path == .sameVisit {
                var today = r
                today.earliest = p.c.bounded(now + Int64(p.rules.offer.sameVisitBufferMinutes) * 60)
                today.latest = SlotSearch.endOfLocalDay(now, in: info.timeZone)
                today.spreadOverDays = false
                today.timesOfDay = []
                today.weekdays = []
                guard let found = SlotSearch.search(today, in: calendar, knownUntil: known) else { return nil }
                if !found.openings.isEmpty {
                    p.request = today
                    p.providerMatch = found.match
                    return found.openings
                }
                p.path = .selfBook
                p.note = "no opening left today; offered the next openings by link"
            }
            r.count = wanted
            p.request = r
            guard let found = SlotSearch.search(r, in: calendar, knownUntil: known) else { return nil }
            p.providerMatch = found.match ?? p.providerMatch
            return found.openings
        }
        var r = p.request!
        r.count = wanted
        guard let found = SlotSearch.search(r, in: calendar, knownUntil: known) else { return nil }
        // A fallback once used stays the case's story, whichever provider later rounds found.
        if case .fallbackRole = p.providerMatch {} else { p.providerMatch = found.match ?? p.providerMatch }
        return found.openings
    }

    /// Inserts holds; returns the reservation id per input index for the ones that won.
    /// A hold loses when the exclusion constraint finds an active hold or booking in
    /// the way (`ON CONFLICT DO NOTHING` works with exclusion constraints) or when a
    /// PMS appointment, outside the constraint, overlaps it.
    func insertHolds(_ items: [(opening: Opening, plan: Plan)], now: Date, in tx: PostgresConnection) async throws -> [Int: Int64] {
        let won = try await ReservationsRepository.insertHolds(
            items.map {
                NewHoldRow(
                    key: $0.plan.c.key, locationID: $0.plan.c.locationID, patientID: $0.plan.c.patientID, opening: $0.opening,
                    expiresAt: Int64(now.timeIntervalSince1970) + Int64($0.plan.tier.holdWindowSeconds))
            }, now: now, on: tx)
        // One case never gets two openings with the same provider and start, so this key is unique.
        var index: [HoldKey: Int] = [:]
        for (k, item) in items.enumerated() {
            index[HoldKey(plan: item.plan.c.key, providerID: item.opening.providerID, start: item.opening.range.start)] = k
        }
        var out: [Int: Int64] = [:]
        for r in won {
            if let k = index[HoldKey(plan: r.key, providerID: r.providerID, start: r.start)] { out[k] = r.reservationID }
        }
        return out
    }

    /// A hold by case, provider and start.
    struct HoldKey: Hashable {
        var plan: PlanKey
        var providerID: String
        var start: Int64
    }
}
