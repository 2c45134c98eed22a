import Foundation
import PlanRouterCore
import PlanRouterPostgres
import Synchronization

/// Location facts the offer worker needs.
struct LocationInfo: Sendable {
    var id: String
    var name: String
    var timeZone: TimeZone
    var incrementMinutes: Int
    var defaultCoordinatorID: String?
    var calendarVersion: Int64
}

/// Loads locations' calendars from PostgreSQL into the in-memory form the slot
/// search runs on, and keeps them while their calendar_version is unchanged.
final class CalendarStore: Sendable {
    private let cache = Mutex<[String: (version: Int64, window: TimeRange, calendar: LocationCalendar)]>([:])

    static func locations(_ ids: [String], in tx: PostgresConnection) async throws -> [String: LocationInfo] {
        let rows = try await tx.query(
            "SELECT id, name, time_zone, time_increment_minutes, default_coordinator_id, calendar_version FROM locations WHERE id = ANY($1::text[])",
            ids)
        var out: [String: LocationInfo] = [:]
        for r in rows {
            let id = try r.decode(0, as: String.self)
            out[id] = LocationInfo(
                id: id, name: try r.decode(1, as: String.self),
                timeZone: TimeZone(identifier: try r.decode(2, as: String.self)) ?? TimeZone(identifier: "UTC")!,
                incrementMinutes: try r.decode(3, as: Int.self), defaultCoordinatorID: try r.decode(4, as: String?.self),
                calendarVersion: try r.decode(5, as: Int64.self))
        }
        return out
    }

    /// How far past the window asked for a calendar is loaded. The window moves with the
    /// clock (it ends a horizon after now); without slack a cached calendar stopped
    /// covering it a second later and almost every batch reloaded its locations.
    static let slack: Int64 = 86_400

    /// Each location's calendar covering its window, from the cache where still current;
    /// the rest are loaded together (four queries for any number of locations, so a cold
    /// cache costs one round of queries per batch rather than four per location). Returns
    /// each calendar with the window it was loaded for (at least the one asked; keep it
    /// with the calendar).
    func calendars(
        for wanted: [(info: LocationInfo, window: TimeRange)], now: Int64, in tx: PostgresConnection
    ) async throws -> [String: (calendar: LocationCalendar, window: TimeRange)] {
        var out: [String: (calendar: LocationCalendar, window: TimeRange)] = [:]
        var missing: [(info: LocationInfo, window: TimeRange)] = []
        cache.withLock { cache in
            for w in wanted {
                if let c = cache[w.info.id], c.version == w.info.calendarVersion, c.window.start <= w.window.start, c.window.end >= w.window.end {
                    out[w.info.id] = (c.calendar, c.window)
                } else {
                    missing.append(w)
                }
            }
        }
        guard !missing.isEmpty else { return out }
        // One window for the whole load: the union of what is missing, plus the slack.
        let loaded = TimeRange(start: missing.map(\.window.start).min()!, end: missing.map(\.window.end).max()! + Self.slack)
        let calendars = try await load(missing.map(\.info), window: loaded, now: now, in: tx)
        cache.withLock { cache in
            for m in missing {
                let cal = calendars[m.info.id]!
                cache[m.info.id] = (m.info.calendarVersion, loaded, cal)
                out[m.info.id] = (cal, loaded)
            }
        }
        return out
    }

    /// Stores a calendar with holds added by this worker, under the version it bumped to.
    func update(_ calendar: LocationCalendar, version: Int64, window: TimeRange) {
        cache.withLock { $0[calendar.locationID] = (version, window, calendar) }
    }

    func invalidate(_ location: String) { _ = cache.withLock { $0.removeValue(forKey: location) } }
    func invalidateAll() { cache.withLock { $0.removeAll() } }

    /// Loads the calendars of `infos` over one window from PostgreSQL.
    func load(_ infos: [LocationInfo], window: TimeRange, now: Int64, in tx: PostgresConnection) async throws -> [String: LocationCalendar] {
        let ids = infos.map(\.id)
        let from = Date(timeIntervalSince1970: Double(window.start)), to = Date(timeIntervalSince1970: Double(window.end))
        /// Per location: providers in id order, operatory busy time, blockouts.
        struct Partial {
            var providers: [String: ProviderCalendar] = [:]
            var order: [String] = []
            var operatoryBusy: [String: [TimeRange]] = [:]
            var blockouts: [Blockout] = []
            mutating func provider(_ id: String) -> ProviderCalendar {
                if let p = providers[id] { return p }
                order.append(id)
                return ProviderCalendar(providerID: id, roles: [], operatoryIDs: [], blocks: [], busy: [])
            }
        }
        var parts: [String: Partial] = Dictionary(uniqueKeysWithValues: ids.map { ($0, Partial()) })
        for r in try await tx.query(
            "SELECT location_id, provider_id, roles, operatory_ids FROM providers WHERE location_id = ANY($1::text[]) ORDER BY location_id, provider_id",
            ids)
        {
            let loc = try r.decode(0, as: String.self)
            var p = parts[loc]!.provider(try r.decode(1, as: String.self))
            p.roles = Set(try r.decode(2, as: [String].self))
            p.operatoryIDs = try r.decode(3, as: [String].self)
            parts[loc]!.providers[p.providerID] = p
        }
        let epoch = "extract(epoch FROM lower(during))::int8, extract(epoch FROM upper(during))::int8"
        for r in try await tx.query(
            "SELECT location_id, provider_id, \(epoch), operatory_ids FROM schedule_blocks WHERE location_id = ANY($1::text[]) AND during && tstzrange($2, $3)",
            ids, from, to)
        {
            let loc = try r.decode(0, as: String.self)
            var p = parts[loc]!.provider(try r.decode(1, as: String.self))
            p.blocks.append(
                ScheduleBlock(range: TimeRange(start: try r.decode(2, as: Int64.self), end: try r.decode(3, as: Int64.self)), operatoryIDs: try r.decode(4, as: [String].self)))
            parts[loc]!.providers[p.providerID] = p
        }
        // Expired holds not yet swept are ignored: they no longer reserve anything.
        for r in try await tx.query(
            """
            SELECT location_id, provider_id, operatory_id, \(epoch), extract(epoch FROM lower(operatory_during))::int8, extract(epoch FROM upper(operatory_during))::int8
            FROM reservations WHERE location_id = ANY($1::text[]) AND active AND operatory_during && tstzrange($2, $3)
              AND (kind <> 'hold' OR expires_at > $4)
            """, ids, from, to, Date(timeIntervalSince1970: Double(now)))
        {
            let loc = try r.decode(0, as: String.self)
            let pid = try r.decode(1, as: String.self)
            let ps = try r.decode(3, as: Int64?.self), pe = try r.decode(4, as: Int64?.self)
            if let ps, let pe, pe > ps, var p = parts[loc]!.providers[pid] {
                p.busy.append(TimeRange(start: ps, end: pe))
                parts[loc]!.providers[pid] = p
            }
            if let op = try r.decode(2, as: String?.self) {
                parts[loc]!.operatoryBusy[op, default: []].append(TimeRange(start: try r.decode(5, as: Int64.self), end: try r.decode(6, as: Int64.self)))
            }
        }
        for r in try await tx.query(
            "SELECT location_id, provider_id, operatory_ids, \(epoch), kind FROM blockouts WHERE location_id = ANY($1::text[]) AND during && tstzrange($2, $3)",
            ids, from, to)
        {
            parts[try r.decode(0, as: String.self)]!.blockouts.append(
                Blockout(
                    range: TimeRange(start: try r.decode(3, as: Int64.self), end: try r.decode(4, as: Int64.self)), kind: try r.decode(5, as: String.self),
                    providerID: try r.decode(1, as: String?.self), operatoryIDs: try r.decode(2, as: [String].self)))
        }
        var out: [String: LocationCalendar] = [:]
        for info in infos {
            let part = parts[info.id]!
            out[info.id] = LocationCalendar(
                locationID: info.id, timeZone: info.timeZone, incrementMinutes: info.incrementMinutes,
                providers: part.order.map { part.providers[$0]! }, operatoryBusy: part.operatoryBusy, blockouts: part.blockouts)
        }
        return out
    }
}
