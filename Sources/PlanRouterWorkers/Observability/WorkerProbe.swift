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

    var isRunning: Bool {
        switch self {
        case .consumer(let s, _): s.isRunning
        case .relay(let s): s.isRunning
        case .timers(let s): s.isRunning
        case .offers, .calendars: true
        }
    }
}

/// Runs `body` but gives up after `timeout`, answering nil. Not a task group: a group
/// waits for every child, and a libpq connect that ignores cancellation would hold
/// the probe past its bound.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = ResumeOnce(continuation)
        Task { once.resume(try? await body()) }
        Task {
            try? await Task.sleep(for: timeout)
            once.resume(nil)
        }
    }
}

/// Resumes a continuation with the first answer and ignores the rest.
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T?, Never>?
    init(_ c: CheckedContinuation<T?, Never>) { continuation = c }
    func resume(_ value: T?) {
        let c = lock.withLock { () -> CheckedContinuation<T?, Never>? in
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: value)
    }
}
