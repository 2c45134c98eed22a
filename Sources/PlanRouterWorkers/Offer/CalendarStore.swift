import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Synchronization

/// Loads locations' calendars from PostgreSQL into the in-memory form the slot
/// search runs on, and keeps them while their calendar_version is unchanged, within a memory
/// budget (least recently used locations are dropped first and loaded again when needed).
final class CalendarStore: Sendable {
    typealias Cached = (version: Int64, window: TimeRange, calendar: LocationCalendar)
    private let cache: Mutex<CalendarCache<LocationKey, Cached>>

    /// Default budget: 16 MiB, room for ~300 locations of five providers' 90-day calendars, or
    /// about four times as many of the three weeks loaded first (`OfferPlanner.firstWindowSeconds`).
    /// At 10,000 locations the worker still peaked at ~99 MB (docs/benchmarks.md, "Scale in
    /// locations"): per-batch loading and shared code pages, not only this cache.
    static let defaultBudgetBytes = 16 << 20

    init(budgetBytes: Int = CalendarStore.defaultBudgetBytes) {
        cache = Mutex(CalendarCache(budgetBytes: budgetBytes))
    }

    /// Calendars kept, their estimated bytes and evictions so far (for metrics and the bench).
    var usage: (locations: Int, bytes: Int, evictions: Int) { cache.withLock { ($0.count, $0.bytes, $0.evictions) } }

    /// How far past the window asked for a calendar is loaded. The window moves with the
    /// clock (it ends a horizon after now); without slack a cached calendar stopped
    /// covering it a second later and almost every batch reloaded its locations.
    static let slack: Int64 = 86_400

    /// Each location's calendar covering its window, from the cache where still current;
    /// the rest are loaded together (four queries in one round trip for any number of locations,
    /// so a cold cache costs one round trip per batch rather than four per location). Returns
    /// each calendar with the window it was loaded for (at least the one asked; keep it
    /// with the calendar).
    func calendars(
        for wanted: [(info: LocationInfo, window: TimeRange)], now: Int64, in tx: PostgresConnection
    ) async throws -> [LocationKey: (calendar: LocationCalendar, window: TimeRange)] {
        var out: [LocationKey: (calendar: LocationCalendar, window: TimeRange)] = [:]
        var missing: [(info: LocationInfo, window: TimeRange)] = []
        cache.withLock { cache in
            for w in wanted {
                if let c = cache.get(w.info.key), c.version == w.info.calendarVersion, c.window.start <= w.window.start,
                    c.window.end >= w.window.end
                {
                    out[w.info.key] = (c.calendar, c.window)
                } else {
                    missing.append(w)
                }
            }
        }
        guard !missing.isEmpty else { return out }
        // One window for the whole load: the union of what is missing, plus the slack.
        var loaded = TimeRange.covering(missing.map(\.window))
        loaded.end += Self.slack
        let calendars = try await load(missing.map(\.info), window: loaded, now: now, in: tx)
        cache.withLock { cache in
            for m in missing {
                let cal = calendars[m.info.key]!
                cache.set(m.info.key, (m.info.calendarVersion, loaded, cal), bytes: cal.estimatedBytes)
                out[m.info.key] = (cal, loaded)
            }
        }
        return out
    }

    /// Stores a calendar with holds added by this worker, under the version it bumped to.
    func update(_ calendar: LocationCalendar, of location: LocationKey, version: Int64, window: TimeRange) {
        cache.withLock { $0.set(location, (version, window, calendar), bytes: calendar.estimatedBytes) }
    }

    func invalidate(_ location: LocationKey) { cache.withLock { $0.remove(location) } }
    func invalidateAll() { cache.withLock { $0.removeAll() } }

    /// Locations loaded per round of queries. A batch spread over thousands of locations misses
    /// hundreds of calendars at once; loaded together, their rows (as libpq results, then decoded)
    /// were the offer worker's peak memory at 10,000 locations, not the cache (docs/benchmarks.md,
    /// "Scale in locations"). Slices bound that peak for four queries per slice.
    static let loadSlice = 50

    /// Loads the calendars of `infos` over one window from PostgreSQL, `loadSlice` locations at a time.
    func load(
        _ infos: [LocationInfo], window: TimeRange, now: Int64, in tx: PostgresConnection
    ) async throws -> [LocationKey: LocationCalendar] {
        var out: [LocationKey: LocationCalendar] = [:]
        for start in stride(from: 0, to: infos.count, by: Self.loadSlice) {
            let slice = Array(infos[start..<min(start + Self.loadSlice, infos.count)])
            out.merge(try await loadSlice(slice, window: window, now: now, in: tx)) { $1 }
        }
        return out
    }

    private func loadSlice(
        _ infos: [LocationInfo], window: TimeRange, now: Int64, in tx: PostgresConnection
    ) async throws -> [LocationKey: LocationCalendar] {
        let ids = infos.map(\.key)
        let from = Date(timeIntervalSince1970: Double(window.start))
        let to = Date(timeIntervalSince1970: Double(window.end))
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
        var parts: [LocationKey: Partial] = Dictionary(uniqueKeysWithValues: ids.map { ($0, Partial()) })
        let rows = try await AvailabilityRepository.calendarRows(
            at: ids, from: from, to: to, now: Date(timeIntervalSince1970: Double(now)), on: tx)
        for r in rows.providers {
            var p = parts[r.location]!.provider(r.providerID)
            p.roles = Set(r.roles)
            p.operatoryIDs = r.operatoryIDs
            parts[r.location]!.providers[p.providerID] = p
        }
        for r in rows.blocks {
            var p = parts[r.location]!.provider(r.providerID)
            p.blocks.append(ScheduleBlock(range: r.range, operatoryIDs: r.operatoryIDs))
            parts[r.location]!.providers[p.providerID] = p
        }
        // Expired holds not yet swept are ignored: they no longer reserve anything.
        for r in rows.busy {
            if let range = r.provider, range.end > range.start, var p = parts[r.location]!.providers[r.providerID] {
                p.busy.append(range)
                parts[r.location]!.providers[r.providerID] = p
            }
            if let op = r.operatoryID, let chair = r.chair {
                parts[r.location]!.operatoryBusy[op, default: []].append(chair)
            }
        }
        for r in rows.blockouts {
            parts[r.location]!.blockouts.append(r.blockout)
        }
        var out: [LocationKey: LocationCalendar] = [:]
        for info in infos {
            let part = parts[info.key]!
            out[info.key] = LocationCalendar(
                locationID: info.id, timeZone: info.timeZone, incrementMinutes: info.incrementMinutes,
                providers: part.order.map { part.providers[$0]! }, operatoryBusy: part.operatoryBusy, blockouts: part.blockouts)
        }
        return out
    }
}
