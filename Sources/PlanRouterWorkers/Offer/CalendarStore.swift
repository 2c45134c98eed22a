import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Synchronization

/// What the offer worker's calendar cache holds, for `/metrics`.
public struct CalendarCacheUsage: Sendable, Equatable {
    public var locations: Int
    /// Estimated (`LocationCalendar.estimatedBytes`).
    public var bytes: Int
    public var budgetBytes: Int
    public var loads: Int
    public var evictions: Int
}

/// Loads locations' calendars from PostgreSQL into the in-memory form the slot
/// search runs on, and keeps them while their calendar_version is unchanged, within a memory
/// budget (least recently used locations are dropped first and loaded again when needed).
final class CalendarStore: Sendable {
    typealias Cached = (version: Int64, window: TimeRange, calendar: LocationCalendar)
    private let cache: Mutex<CalendarCache<LocationKey, Cached>>

    /// Default budget: 8 MiB. A calendar's size is set by its bookings more than its schedule:
    /// the three weeks loaded first (`OfferPlanner.firstWindowSeconds`) of two empty providers take
    /// ~5 KB, of five providers with a thousand holds and appointments ~65 KB. With the Swift
    /// libraries linked statically (as the image and scripts/lib/common.sh build), the offer
    /// worker at 10,000 locations peaked at 62.3 MB with 8 MiB and 69.3 MB with 16, and
    /// `bench pipeline --offer` (200 busy locations) ran as fast with 8 as with 16 (~1,480
    /// acceptances/s); at 4 MiB it fell to ~1,050 (most cases a reload). Measured in
    /// docs/benchmarks.md, "Scale in locations"; the trade is `--calendar-cache-mb`.
    static let defaultBudgetBytes = 8 << 20

    init(budgetBytes: Int = CalendarStore.defaultBudgetBytes) {
        cache = Mutex(CalendarCache(budgetBytes: budgetBytes))
    }

    /// Calendars kept, their estimated bytes, and loads and evictions so far (`/metrics`).
    var usage: CalendarCacheUsage {
        cache.withLock {
            CalendarCacheUsage(
                locations: $0.count, bytes: $0.bytes, budgetBytes: $0.budgetBytes, loads: loads.load(ordering: .relaxed),
                evictions: $0.evictions)
        }
    }
    /// Calendars loaded from PostgreSQL: cache misses, and cached calendars loaded again for a later window.
    private let loads = Atomic<Int>(0)

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
        loads.add(missing.count, ordering: .relaxed)
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
        /// One provider's rows, gathered in plain arrays and made a `ProviderCalendar` once at the
        /// end: appending to a `ProviderCalendar`'s observed lists copied and re-checked them at
        /// every row.
        struct ProviderRows {
            var roles: Set<String> = []
            var operatoryIDs: [String] = []
            var blocks: [ScheduleBlock] = []
            var busy: [TimeRange] = []
        }
        /// Per location: providers in id order, operatory busy time, blockouts.
        struct Partial {
            var providers: [String: ProviderRows] = [:]
            var order: [String] = []
            var operatoryBusy: [String: [TimeRange]] = [:]
            var blockouts: [Blockout] = []
            mutating func provider(_ id: String) {
                guard providers[id] == nil else { return }
                order.append(id)
                providers[id] = ProviderRows()
            }
        }
        var parts: [LocationKey: Partial] = Dictionary(uniqueKeysWithValues: ids.map { ($0, Partial()) })
        let rows = try await AvailabilityRepository.calendarRows(
            at: ids, from: from, to: to, now: Date(timeIntervalSince1970: Double(now)), on: tx)
        for r in rows.providers {
            parts[r.location]!.provider(r.providerID)
            parts[r.location]!.providers[r.providerID]!.roles = Set(r.roles)
            parts[r.location]!.providers[r.providerID]!.operatoryIDs = r.operatoryIDs
        }
        // Blocks naming the same operatories share one array (each row decodes its own).
        var sharedOperatories: [[String]: [String]] = [:]
        for r in rows.blocks {
            parts[r.location]!.provider(r.providerID)
            var ops = r.operatoryIDs
            if !ops.isEmpty {
                if let known = sharedOperatories[ops] { ops = known } else { sharedOperatories[ops] = ops }
            }
            parts[r.location]!.providers[r.providerID]!.blocks.append(ScheduleBlock(range: r.range, operatoryIDs: ops))
        }
        // Expired holds not yet swept are ignored: they no longer reserve anything.
        for r in rows.busy {
            if let range = r.provider, range.end > range.start, parts[r.location]!.providers[r.providerID] != nil {
                parts[r.location]!.providers[r.providerID]!.busy.append(range)
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
            let part = parts.removeValue(forKey: info.key)!
            let providers = part.order.map { id in
                let p = part.providers[id]!
                return ProviderCalendar(providerID: id, roles: p.roles, operatoryIDs: p.operatoryIDs, blocks: p.blocks, busy: p.busy)
            }
            out[info.key] = LocationCalendar(
                locationID: info.id, timeZone: info.timeZone, incrementMinutes: info.incrementMinutes,
                providers: providers, operatoryBusy: part.operatoryBusy, blockouts: part.blockouts)
        }
        return out
    }
}
