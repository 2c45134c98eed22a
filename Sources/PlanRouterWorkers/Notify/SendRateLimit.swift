import Synchronization

/// Spacing of provider calls per sender: at most `rate` calls per second each, the next
/// slot reserved at once so concurrent callers queue up rather than burst.
struct SendSpacing: Sendable {
    private var nextFree: [String: ContinuousClock.Instant] = [:]

    /// Reserves the sender's next slot at or after `now`; returns how long to wait for it.
    mutating func reserve(_ key: String, rate: Double, now: ContinuousClock.Instant) -> Duration {
        let slot = max(now, nextFree[key] ?? now)
        nextFree[key] = slot + .nanoseconds(Int64(1_000_000_000 / max(rate, 0.001)))
        return slot - now
    }
}

/// `SendSpacing` behind the code base's one lock.
final class SendRateLimit: Sendable {
    private let spacing = Mutex(SendSpacing())

    func wait(_ key: String, rate: Double) async throws {
        let delay = spacing.withLock { $0.reserve(key, rate: rate, now: .now) }
        if delay > .zero { try await Task.sleep(for: delay) }
    }
}
