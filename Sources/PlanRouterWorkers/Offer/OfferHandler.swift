import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres

/// Stage 3: offer the slot while the patient is still warm.
///
/// Consumes schedule.changed and appointment.changed (the availability mirror) and
/// plan.classified. Availability in a batch is applied first, so offers in the
/// same batch see it. For each classified case: search openings in the location's
/// in-memory calendar, hold them (the exclusion constraint is the arbiter; a hold
/// that loses a race is retried with the next openings), record the offer, emit the
/// patient message, deposit request or coordinator task, and start the escalation
/// ladder — all in the batch's transaction. A case is never silently dropped: no
/// opening in the horizon becomes a "no availability" coordinator task.
public struct OfferHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.planClassified, .scheduleChanged, .appointmentChanged]
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    public let topics: TopicNames
    let settings: OfferSettings
    let rules = RulesCache()
    let calendars = CalendarStore()

    /// Rounds of hold attempts. A hold loses only to a transaction that then commits, so
    /// each lost round means one competitor finished; 8 covers that many concurrent offers.
    static let holdRounds = 8

    public init(consumerName: String = "planrouter-offer", topics: TopicNames = .init(), settings: OfferSettings) {
        self.consumerName = consumerName
        self.topics = topics
        self.settings = settings
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
            calendars.invalidateAll()
            throw error
        }
        return letters
    }

    /// An initial offer (after classification) or a nudge (a ladder step).
    public enum OfferKind: String, Sendable {
        case initial
        case nudge
    }

    /// What one case gets.
    struct Plan {
        var c: OfferCase
        var rules: RoutingRules
        var tier: RoutingRules.Tier
        var path: CasePath
        var request: SlotRequest?
        var held: [(opening: Opening, reservationID: Int64)] = []
        var note: String?
    }

    func makeOffers(_ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger) async throws {
        let (cases, skipped) = try await OfferCase.load(events, in: tx)
        try await recordSkipped(skipped, in: tx, now: now)
        try await offer(cases, kind: .initial, in: tx, outbox: &outbox, now: now, logger: logger)
    }

    /// Nudges cases still waiting (status offered): the patient gets the openings still
    /// held for them, or fresh ones, newly held, when the earlier holds expired or were
    /// taken. Called by the escalation worker when a ladder's nudge step fires.
    public func nudge(
        _ keys: [(organizationID: String, planID: String)], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        let cases = try await OfferCase.loadOffered(organizations: keys.map(\.organizationID), plans: keys.map(\.planID), in: tx)
        do {
            try await offer(cases.filter { $0.channel != nil }, kind: .nudge, in: tx, outbox: &outbox, now: now, logger: logger)
        } catch {
            calendars.invalidateAll()
            throw error
        }
    }

    func offer(_ cases: [OfferCase], kind: OfferKind, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger) async throws {
        guard !cases.isEmpty else { return }
        try await rules.refreshIfNeeded(on: tx)
        let locationIDs = Array(Set(cases.map(\.locationID))).sorted()
        // Expired holds still count for the exclusion constraint until released.
        let swept = try await tx.query(
            """
            WITH r AS (UPDATE reservations SET active = false, released_at = $2, release_reason = 'expired'
                       WHERE kind = 'hold' AND active AND expires_at <= $2 AND location_id = ANY($1::text[]) RETURNING location_id)
            SELECT DISTINCT location_id FROM r
            """, locationIDs, now)
        try await AvailabilityMirror.bumpCalendars(try swept.map { try $0.decode(0, as: String.self) }, in: tx)
        let infos = try await CalendarStore.locations(locationIDs, in: tx)
        let nowEpoch = Int64(now.timeIntervalSince1970)

        var plans: [Plan] = cases.map { c in
            let r = rules.rules(for: c.organizationID).rules.resolved(for: c.locationID)
            let tier = r.tier(named: c.tier) ?? r.tier(named: r.defaultTier)!
            // A nudge reaches a patient who has left: by link, whatever the first path was.
            return Plan(c: c, rules: r, tier: tier, path: kind == .nudge ? .selfBook : c.path)
        }
        if kind == .nudge {
            // Openings still held for the case are offered again rather than replaced.
            let held = try await tx.query(
                """
                SELECT organization_id, plan_id, id, provider_id, operatory_id, extract(epoch FROM lower(during))::int8,
                       extract(epoch FROM upper(during))::int8
                FROM reservations WHERE kind = 'hold' AND active AND expires_at > $3
                  AND (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                ORDER BY lower(during)
                """, plans.map(\.c.organizationID), plans.map(\.c.planID), now)
            var byKey: [String: [(Opening, Int64)]] = [:]
            for r in held {
                let o = Opening(
                    providerID: try r.decode(3, as: String.self), operatoryID: try r.decode(4, as: String?.self),
                    range: TimeRange(start: try r.decode(5, as: Int64.self), end: try r.decode(6, as: Int64.self)))
                byKey[try r.decode(0, as: String.self) + "\u{1F}" + (try r.decode(1, as: String.self)), default: []].append((o, try r.decode(2, as: Int64.self)))
            }
            for i in plans.indices { plans[i].held = (byKey[plans[i].c.key] ?? []).map { (opening: $0.0, reservationID: $0.1) } }
        }
        // Search every location in memory, then hold everything in one statement; only the
        // locations where a hold lost a race are reloaded and searched again.
        var calendarsByLocation: [String: (info: LocationInfo, window: TimeRange, calendar: LocationCalendar)] = [:]
        var pending: [Int] = []
        var wanted: [(info: LocationInfo, window: TimeRange)] = []
        for loc in locationIDs {
            guard let info = infos[loc] else { continue }
            let indices = plans.indices.filter { plans[$0].c.locationID == loc && plans[$0].path != .callback && plans[$0].held.isEmpty }
            guard !indices.isEmpty else { continue }
            let horizon = indices.map { plans[$0].rules.offer.horizonDays }.max()!
            wanted.append((info, TimeRange(start: nowEpoch - 86_400, end: nowEpoch + Int64(horizon + 2) * 86_400)))
            pending += indices
        }
        for (loc, cached) in try await calendars.calendars(for: wanted, now: nowEpoch, in: tx) {
            calendarsByLocation[loc] = (infos[loc]!, cached.window, cached.calendar)
        }
        var heldLocations = Set<String>()
        for round in 0..<OfferHandler.holdRounds where !pending.isEmpty {
            if round > 0 {
                // Reload what the database now says where holds lost (together, over the
                // windows' union), and try the next openings.
                let lost = Set(pending.map { plans[$0].c.locationID }).map { calendarsByLocation[$0]! }
                let window = TimeRange(start: lost.map(\.window.start).min()!, end: lost.map(\.window.end).max()!)
                for (loc, calendar) in try await calendars.load(lost.map(\.info), window: window, now: nowEpoch, in: tx) {
                    calendarsByLocation[loc]!.calendar = calendar
                    calendarsByLocation[loc]!.window = window
                }
            }
            var wanted: [(index: Int, opening: Opening)] = []
            for i in pending {
                let loc = plans[i].c.locationID
                let e = calendarsByLocation[loc]!
                for o in search(&plans[i], calendar: e.calendar, info: e.info, now: nowEpoch) {
                    calendarsByLocation[loc]!.calendar.reserve(o)
                    wanted.append((i, o))
                }
            }
            if wanted.isEmpty { break }
            let won = try await insertHolds(wanted.map { ($0.opening, plans[$0.index]) }, now: now, in: tx)
            var losers = Set<Int>()
            for (k, w) in wanted.enumerated() {
                if let id = won[k] {
                    plans[w.index].held.append((w.opening, id))
                    heldLocations.insert(plans[w.index].c.locationID)
                } else {
                    losers.insert(w.index)
                }
            }
            pending = losers.sorted()
            if !pending.isEmpty {
                logger.debug("holds lost a race; retrying with the next openings", metadata: ["cases": "\(pending.count)", "round": "\(round)"])
            }
        }
        if !heldLocations.isEmpty {
            let versions = try await tx.query(
                "UPDATE locations SET calendar_version = calendar_version + 1 WHERE id = ANY($1::text[]) RETURNING id, calendar_version",
                heldLocations.sorted())
            for r in versions {
                let loc = try r.decode(0, as: String.self)
                if let e = calendarsByLocation[loc] { calendars.update(e.calendar, version: try r.decode(1, as: Int64.self), window: e.window) }
            }
        }
        if kind == .initial {
            try await record(plans, infos: infos, in: tx, outbox: &outbox, now: now)
        } else {
            try await recordNudges(plans, infos: infos, in: tx, outbox: &outbox, now: now)
        }
    }

    /// Builds the case's slot request on first use; a same-visit case with nothing left today falls back to a link.
    func search(_ p: inout Plan, calendar: LocationCalendar, info: LocationInfo, now: Int64) -> [Opening] {
        let wanted = p.rules.offer.openings - p.held.count
        if p.request == nil {
            let horizonEnd = now + Int64(p.rules.offer.horizonDays) * 86_400
            var r = SlotRequest(
                providerID: p.c.providerID, durationMinutes: p.c.chairMinutes, earliest: SlotSearch.startOfNextBusinessDay(after: now, in: info.timeZone),
                latest: horizonEnd, count: wanted, spreadOverDays: p.rules.offer.spreadOverDays, timesOfDay: p.c.timesOfDay,
                weekdays: p.c.weekdays, allowedBlockoutKinds: p.c.allowedBlockoutKinds)
            if p.path == .sameVisit {
                var today = r
                today.earliest = now + Int64(p.rules.offer.sameVisitBufferMinutes) * 60
                today.latest = SlotSearch.endOfLocalDay(now, in: info.timeZone)
                today.spreadOverDays = false
                today.timesOfDay = []
                today.weekdays = []
                if let found = findWithFallback(&today, p.c, calendar), !found.isEmpty {
                    p.request = today
                    return found
                }
                p.path = .selfBook
                p.note = "no opening left today; offered the next openings by link"
            }
            p.request = r
            return findWithFallback(&r, p.c, calendar).map { p.request = r; return $0 } ?? []
        }
        var r = p.request!
        r.count = wanted
        return SlotSearch.find(r, in: calendar)
    }

    /// The treating provider first; any provider with the required role when that finds nothing.
    func findWithFallback(_ r: inout SlotRequest, _ c: OfferCase, _ calendar: LocationCalendar) -> [Opening]? {
        let own = SlotSearch.find(r, in: calendar)
        if !own.isEmpty || c.providerRole == nil { return own }
        var byRole = r
        byRole.providerID = nil
        byRole.providerRole = c.providerRole
        let found = SlotSearch.find(byRole, in: calendar)
        if !found.isEmpty { r = byRole }
        return found
    }

    /// Inserts holds; returns the reservation id per input index for the ones that won.
    /// A hold loses when the exclusion constraint finds an active hold or booking in
    /// the way (`ON CONFLICT DO NOTHING` works with exclusion constraints) or when a
    /// PMS appointment, outside the constraint, overlaps it.
    func insertHolds(_ items: [(opening: Opening, plan: Plan)], now: Date, in tx: PostgresConnection) async throws -> [Int: Int64] {
        let rows = try await tx.query(
            """
            INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                      patient_id, expires_at, created_at)
            SELECT l, p, op, tstzrange(to_timestamp(s), to_timestamp(e)), tstzrange(to_timestamp(s), to_timestamp(e)), 'hold', org, pl,
                   pat, to_timestamp(ex), $10
            FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::int8[])
                 AS u(l, p, op, s, e, org, pl, pat, ex)
            WHERE NOT EXISTS (
                -- A PMS appointment's provider time lies within its chair time, so the chair-time
                -- overlap is a correct pre-filter, and the one the partial GiST index answers.
                SELECT 1 FROM reservations r WHERE r.location_id = u.l AND r.active AND r.kind = 'pms'
                  AND r.operatory_during && tstzrange(to_timestamp(u.s), to_timestamp(u.e))
                  AND ((r.provider_id = u.p AND r.during && tstzrange(to_timestamp(u.s), to_timestamp(u.e)))
                       OR (u.op IS NOT NULL AND r.operatory_id = u.op AND r.operatory_during && tstzrange(to_timestamp(u.s), to_timestamp(u.e)))))
            ON CONFLICT DO NOTHING
            RETURNING id, organization_id, plan_id, provider_id, extract(epoch FROM lower(during))::int8
            """,
            items.map(\.plan.c.locationID), items.map(\.opening.providerID), items.map(\.opening.operatoryID),
            items.map(\.opening.range.start), items.map(\.opening.range.end), items.map(\.plan.c.organizationID),
            items.map(\.plan.c.planID), items.map(\.plan.c.patientID),
            items.map { Int64(now.timeIntervalSince1970) + Int64($0.plan.tier.holdWindowSeconds) }, now)
        // One case never gets two openings with the same provider and start, so this key is unique.
        var index: [String: Int] = [:]
        for (k, item) in items.enumerated() {
            index["\(item.plan.c.key)\u{1F}\(item.opening.providerID)\u{1F}\(item.opening.range.start)"] = k
        }
        var out: [Int: Int64] = [:]
        for r in rows {
            let key = "\(try r.decode(1, as: String.self))\u{1F}\(try r.decode(2, as: String.self))\u{1F}\(try r.decode(3, as: String.self))\u{1F}\(try r.decode(4, as: Int64.self))"
            if let k = index[key] { out[k] = try r.decode(0, as: Int64.self) }
        }
        return out
    }

    func recordSkipped(_ skipped: [(IncomingEvent, String)], in tx: PostgresConnection, now: Date) async throws {
        guard !skipped.isEmpty else { return }
        let d = skipped.map(\.0.event.data)
        _ = try await tx.execute(
            """
            INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
            SELECT o, p, l, 'offer_skipped', s, e, $7, $7, jsonb_build_object('reason', r)
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(o, p, l, s, e, r)
            """,
            d.map { $0["organization_id"]!.stringValue! }, d.map { $0["plan_id"]!.stringValue! }, d.map { $0["location_id"]!.stringValue! },
            skipped.map(\.0.event.source), skipped.map(\.0.event.id), skipped.map(\.1), now)
    }
}
