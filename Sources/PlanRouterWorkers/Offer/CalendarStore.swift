import Foundation
import PlanRouterCore
import PlanRouterPostgres

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
final class CalendarStore: @unchecked Sendable {
    private let lock = NSLock()
    private var cache: [String: (version: Int64, window: TimeRange, calendar: LocationCalendar)] = [:]

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

    /// The location's calendar covering `window`, from the cache when still current, and
    /// the window it was loaded for (at least `window`; keep it with the calendar).
    func calendar(
        for info: LocationInfo, window: TimeRange, now: Int64, in tx: PostgresConnection
    ) async throws -> (calendar: LocationCalendar, window: TimeRange) {
        if let c = lock.withLock({ cache[info.id] }), c.version == info.calendarVersion, c.window.start <= window.start,
            c.window.end >= window.end
        {
            return (c.calendar, c.window)
        }
        let loaded = TimeRange(start: window.start, end: window.end + Self.slack)
        let cal = try await load(info, window: loaded, now: now, in: tx)
        lock.withLock { cache[info.id] = (info.calendarVersion, loaded, cal) }
        return (cal, loaded)
    }

    /// Stores a calendar with holds added by this worker, under the version it bumped to.
    func update(_ calendar: LocationCalendar, version: Int64, window: TimeRange) {
        lock.withLock { cache[calendar.locationID] = (version, window, calendar) }
    }

    func invalidate(_ location: String) { _ = lock.withLock { cache.removeValue(forKey: location) } }
    func invalidateAll() { lock.withLock { cache.removeAll() } }

    func load(_ info: LocationInfo, window: TimeRange, now: Int64, in tx: PostgresConnection) async throws -> LocationCalendar {
        let from = Date(timeIntervalSince1970: Double(window.start)), to = Date(timeIntervalSince1970: Double(window.end))
        var providers: [String: ProviderCalendar] = [:]
        var order: [String] = []
        func provider(_ id: String) -> ProviderCalendar {
            if let p = providers[id] { return p }
            order.append(id)
            return ProviderCalendar(providerID: id, roles: [], operatoryIDs: [], blocks: [], busy: [])
        }
        for r in try await tx.query("SELECT provider_id, roles, operatory_ids FROM providers WHERE location_id = $1 ORDER BY provider_id", info.id) {
            var p = provider(try r.decode(0, as: String.self))
            p.roles = Set(try r.decode(1, as: [String].self))
            p.operatoryIDs = try r.decode(2, as: [String].self)
            providers[p.providerID] = p
        }
        let epoch = "extract(epoch FROM lower(during))::int8, extract(epoch FROM upper(during))::int8"
        for r in try await tx.query(
            "SELECT provider_id, \(epoch), operatory_ids FROM schedule_blocks WHERE location_id = $1 AND during && tstzrange($2, $3)",
            info.id, from, to)
        {
            var p = provider(try r.decode(0, as: String.self))
            p.blocks.append(
                ScheduleBlock(range: TimeRange(start: try r.decode(1, as: Int64.self), end: try r.decode(2, as: Int64.self)), operatoryIDs: try r.decode(3, as: [String].self)))
            providers[p.providerID] = p
        }
        var operatoryBusy: [String: [TimeRange]] = [:]
        // Expired holds not yet swept are ignored: they no longer reserve anything.
        for r in try await tx.query(
            """
            SELECT provider_id, operatory_id, \(epoch), extract(epoch FROM lower(operatory_during))::int8, extract(epoch FROM upper(operatory_during))::int8
            FROM reservations WHERE location_id = $1 AND active AND operatory_during && tstzrange($2, $3)
              AND (kind <> 'hold' OR expires_at > $4)
            """, info.id, from, to, Date(timeIntervalSince1970: Double(now)))
        {
            let pid = try r.decode(0, as: String.self)
            let ps = try r.decode(2, as: Int64?.self), pe = try r.decode(3, as: Int64?.self)
            if let ps, let pe, pe > ps, var p = providers[pid] {
                p.busy.append(TimeRange(start: ps, end: pe))
                providers[pid] = p
            }
            if let op = try r.decode(1, as: String?.self) {
                operatoryBusy[op, default: []].append(TimeRange(start: try r.decode(4, as: Int64.self), end: try r.decode(5, as: Int64.self)))
            }
        }
        var blockouts: [Blockout] = []
        for r in try await tx.query(
            "SELECT provider_id, operatory_ids, \(epoch), kind FROM blockouts WHERE location_id = $1 AND during && tstzrange($2, $3)",
            info.id, from, to)
        {
            blockouts.append(
                Blockout(
                    range: TimeRange(start: try r.decode(2, as: Int64.self), end: try r.decode(3, as: Int64.self)), kind: try r.decode(4, as: String.self),
                    providerID: try r.decode(0, as: String?.self), operatoryIDs: try r.decode(1, as: [String].self)))
        }
        return LocationCalendar(
            locationID: info.id, timeZone: info.timeZone, incrementMinutes: info.incrementMinutes,
            providers: order.map { providers[$0]! }.map {
                ProviderCalendar(providerID: $0.providerID, roles: $0.roles, operatoryIDs: $0.operatoryIDs, blocks: $0.blocks, busy: $0.busy)
            },
            operatoryBusy: operatoryBusy, blockouts: blockouts)
    }
}
