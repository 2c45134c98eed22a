import Synchronization

/// A consumer's `KafkaOffsetTracker` behind a `Mutex`. The poll and commit paths,
/// `markDone` from any task and the rebalance callback all use it; the callback is
/// created before the consumer exists, so it holds this rather than the consumer.
final class SharedOffsetTracker: Sendable {
    private let tracker = Mutex(KafkaOffsetTracker())
    /// Set when the consumer starts closing; the rebalance callback reads it (it shares this object).
    private let closing = Mutex(false)

    func markClosing() { closing.withLock { $0 = true } }
    var isClosing: Bool { closing.withLock { $0 } }

    func withLock<Result: Sendable>(_ body: (inout KafkaOffsetTracker) -> Result) -> Result {
        tracker.withLock { body(&$0) }
    }
}
