import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterTelemetry

/// One loop of a worker process whose counters `/metrics` exports and whose
/// liveness `/readyz` checks.
public enum WorkerProbe: Sendable {
    /// A consuming loop (`ConsumerWorker.probe`): its stats, and how to read its
    /// consumer's per-partition lag at scrape time.
    case consumer(WorkerStats, lag: @Sendable () async -> [KafkaPartitionLag])
    /// The outbox relay; `/metrics` also reads the outbox backlog at scrape time.
    case relay(RelayStats)
    /// The escalation timers; `/metrics` also counts due timers at scrape time.
    case timers(TimerStats)
    /// Not a loop: `/metrics` counts first offers by tier and SLA outcome in `offers` at scrape time.
    case offers
    /// Not a loop: `/metrics` and `/readyz` read the locations whose schedule mirror is older than `staleAfter`.
    case calendars(staleAfter: Duration)
    /// Not a loop: lines `/readyz` adds to its answer (e.g. a connector's unhealthy offices).
    case detail(@Sendable () -> [String])
    /// Not a loop: `/metrics` reads the offer planner's calendar cache (size, budget, loads, evictions).
    case calendarCache(@Sendable () -> CalendarCacheUsage)

    var isRunning: Bool {
        switch self {
        case .consumer(let s, _): s.isRunning
        case .relay(let s): s.isRunning
        case .timers(let s): s.isRunning
        case .offers, .calendars, .detail, .calendarCache: true
        }
    }
}
