import CoreMetrics
import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import Synchronization

/// What `/metrics` serves for one worker process: the swift-metrics instruments its
/// loops update as they work (see `WorkerTelemetry`), plus gauges refreshed at scrape
/// time — consumer lag per partition from librdkafka, and from PostgreSQL the outbox
/// backlog (relay), due timers (escalation) and first offers by tier and SLA (offer).
public struct WorkerMetrics: Sendable {
    public let telemetry: WorkerTelemetry
    public var probes: [WorkerProbe]
    public var pool: PostgresPool
    public var clock: any PlanRouterClock
    /// Bound on each scrape-time query.
    public var queryTimeout: Duration = .seconds(2)
    private let gauges: ScrapeGauges

    /// `telemetry` must be the one the probes' loops were created with.
    public init(telemetry: WorkerTelemetry, probes: [WorkerProbe], pool: PostgresPool, clock: any PlanRouterClock) {
        self.telemetry = telemetry
        self.probes = probes
        self.pool = pool
        self.clock = clock
        self.gauges = ScrapeGauges(telemetry)
    }

    public var kind: String { telemetry.worker }

    /// Whether every loop of the process is running.
    public var loopsRunning: Bool { probes.allSatisfy(\.isRunning) }

    public func databaseAnswers(timeout: Duration = .seconds(2)) async -> Bool {
        let pool = self.pool
        return await withDeadline(timeout) { try await pool.withConnection { try await SchemaRepository.ping(on: $0) } } ?? false
    }

    /// Refreshes the scrape-time gauges, then emits everything in the Prometheus text format.
    public func text() async -> String {
        gauges.set("planrouter_worker_up", "1 while every loop of the worker process runs.", loopsRunning ? 1 : 0)
        // Lag gauges are replaced as one set (partitions no longer reported are dropped).
        var lag: [KafkaPartitionLag] = []
        for probe in probes {
            switch probe {
            case .consumer(_, let partitions): lag += await partitions()
            case .relay: await refreshOutbox()
            case .timers: await refreshTimers()
            case .offers: await refreshOffers()
            case .calendars(let staleAfter): _ = await refreshCalendars(staleAfter: staleAfter)
            case .detail: break
            case .calendarCache(let usage): refreshCalendarCache(usage())
            }
        }
        gauges.lag(lag)
        return telemetry.text()
    }

    /// Runs one scrape-time query within the bound; records `<name>_query_up`.
    private func read<T: Sendable>(_ up: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async -> T? {
        let pool = self.pool
        let value = await withDeadline(queryTimeout) { try await pool.withConnection { try await body($0) } }
        gauges.set(up, "1 when this scrape-time query answered within its bound.", value == nil ? 0 : 1)
        return value
    }

    private func refreshOutbox() async {
        let clock = self.clock
        guard
            let (backlog, now) = await read("planrouter_outbox_query_up", { (try await OutboxBacklog.read(on: $0), try await clock.now()) })
        else { return }
        gauges.set("planrouter_outbox_pending", "Outbox rows waiting to be published.", backlog.pending)
        gauges.set(
            "planrouter_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when none).",
            backlog.oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        gauges.set(
            "planrouter_outbox_set_aside", "Outbox rows set aside because the broker refused them for good (see planrouter outbox status).",
            backlog.failed)
        // The same number under its earlier name, kept for existing dashboards.
        gauges.set(
            "planrouter_outbox_failed", "Outbox rows set aside because the broker refused them for good (see last_error).", backlog.failed)
    }

    private func refreshTimers() async {
        let clock = self.clock
        guard
            let (due, pending) = await read(
                "planrouter_timers_query_up",
                { conn in
                    try await TimersRepository.counts(now: try await clock.now(), on: conn)
                })
        else { return }
        gauges.set("planrouter_timers_due", "Pending timers whose due time has passed (fired soon, or stuck).", due)
        gauges.set("planrouter_timers_pending", "Pending timers, due or not.", pending)
    }

    /// Locations whose schedule mirror is older than `staleAfter` on the worker's clock (their cases go to
    /// coordinators); records `planrouter_locations_calendar_stale`. Nil when the query did not answer.
    func refreshCalendars(staleAfter: Duration) async -> [String]? {
        let clock = self.clock
        guard
            let stale = await read(
                "planrouter_calendars_query_up",
                { conn in
                    let cutoff = try await clock.now().addingTimeInterval(-Double(staleAfter.components.seconds))
                    return try await LocationsRepository.staleCalendars(syncedBefore: cutoff, on: conn).map(\.key.description)
                })
        else { return nil }
        gauges.set(
            "planrouter_locations_calendar_stale",
            "Locations whose schedule mirror was not refreshed within the window (their cases go to coordinators).", stale.count)
        return stale
    }

    /// The calendar cache, so an operator sees whether `--calendar-cache-mb` holds the locations
    /// the worker serves: loads rising with every batch mean most cases miss it.
    func refreshCalendarCache(_ u: CalendarCacheUsage) {
        gauges.set("planrouter_calendar_cache_locations", "Locations whose calendar the offer planner keeps in memory.", u.locations)
        gauges.set("planrouter_calendar_cache_bytes", "Estimated memory of the cached calendars.", u.bytes)
        gauges.set("planrouter_calendar_cache_budget_bytes", "The calendar cache's budget (--calendar-cache-mb).", u.budgetBytes)
        gauges.total(
            "planrouter_calendar_loads_total", "Calendars loaded from PostgreSQL (not in the cache, or needed for a later window).",
            u.loads)
        gauges.total(
            "planrouter_calendar_cache_evictions_total", "Calendars dropped from the cache to stay within its budget.", u.evictions)
    }

    /// Lines `/readyz` adds to its answer (the worker stays ready: these are warnings for operators).
    public func readinessDetail() async -> [String] {
        var lines: [String] = []
        for probe in probes {
            if case .detail(let detail) = probe { lines += detail() }
            guard case .calendars(let staleAfter) = probe, let stale = await refreshCalendars(staleAfter: staleAfter), !stale.isEmpty
            else { continue }
            let hours = staleAfter.components.seconds / 3600
            let shown = stale.prefix(20).joined(separator: ", ") + (stale.count > 20 ? ", …" : "")
            lines.append("calendar stale: \(stale.count) location(s) without a schedule refresh for over \(hours) h: \(shown)")
        }
        return lines
    }

    private func refreshOffers() async {
        guard
            let rows = await read("planrouter_offers_query_up", { conn in try await OffersRepository.firstOfferSLACounts(on: conn) })
        else { return }
        for (tier, met, count) in rows {
            gauges.set(
                "planrouter_first_offers", "First offers in the database, by tier and whether they met the tier's first-offer SLA.", count,
                [("tier", tier), ("sla", met ? "met" : "missed")])
        }
    }
}

/// Gauges refreshed at scrape time, created on first use and kept (swift-metrics
/// instruments are meant to be created once). Lag gauges of partitions no longer
/// assigned are destroyed, so a partition that moved to another process stops being
/// reported here.
final class ScrapeGauges: Sendable {
    private struct Instruments {
        var gauges: [String: Recorder] = [:]
        /// Counters mirroring a running total kept elsewhere, with the total they were last brought to.
        var totals: [String: (counter: CoreMetrics.Counter, value: Int)] = [:]
        var lagGauges: [KafkaTopicPartition: Recorder] = [:]
    }
    private let telemetry: WorkerTelemetry
    private let instruments = Mutex(Instruments())

    init(_ telemetry: WorkerTelemetry) { self.telemetry = telemetry }

    func set(_ name: String, _ help: String, _ value: some BinaryInteger, _ labels: [(String, String)] = []) {
        set(name, help, Double(value), labels)
    }

    func set(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
        let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
        instruments.withLock {
            if let g = $0.gauges[key] { return g }
            let g = telemetry.gauge(name, help: help, labels)
            $0.gauges[key] = g
            return g
        }
        .record(value)
    }

    /// Brings a counter up to a running total read at scrape time (a total that went down, as
    /// after a restart of what keeps it, is not counted back).
    func total(_ name: String, _ help: String, _ value: Int) {
        instruments.withLock {
            let entry = $0.totals[name] ?? (telemetry.counter(name, help: help), 0)
            if value > entry.value { entry.counter.increment(by: value - entry.value) }
            $0.totals[name] = (entry.counter, max(value, entry.value))
        }
    }

    func lag(_ partitions: [KafkaPartitionLag]) {
        let stale = instruments.withLock { instruments -> [Recorder] in
            let current = Set(partitions.map(\.topicPartition))
            let gone = instruments.lagGauges.filter { !current.contains($0.key) }
            for key in gone.keys { instruments.lagGauges[key] = nil }
            for p in partitions where instruments.lagGauges[p.topicPartition] == nil {
                instruments.lagGauges[p.topicPartition] = telemetry.gauge(
                    "planrouter_consumer_lag",
                    help: "Messages in the partition this consumer has not applied yet (high watermark - next offset to apply).",
                    [("topic", p.topicPartition.topic), ("partition", String(p.topicPartition.partition))])
            }
            for p in partitions { instruments.lagGauges[p.topicPartition]!.record(p.lag) }
            return Array(gone.values)
        }
        for gauge in stale { gauge.destroy() }
    }
}
