import Foundation

/// Counters a worker keeps about itself (exported as metrics, printed by benchmarks).
public final class WorkerStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _applied = 0
    private var _deduplicated = 0
    private var _deadLettered = 0
    private var _batches = 0
    private var _retries = 0
    private var _lastBatchDuration: Duration = .zero

    public init() {}

    func record(applied: Int, deduplicated: Int, deadLettered: Int) {
        lock.withLock {
            _applied += applied
            _deduplicated += deduplicated
            _deadLettered += deadLettered
        }
    }
    func recordBatch(size: Int, duration: Duration) {
        lock.withLock {
            _batches += 1
            _lastBatchDuration = duration
        }
    }
    func recordRetry() { lock.withLock { _retries += 1 } }

    public var applied: Int { lock.withLock { _applied } }
    public var deduplicated: Int { lock.withLock { _deduplicated } }
    public var deadLettered: Int { lock.withLock { _deadLettered } }
    public var batches: Int { lock.withLock { _batches } }
    public var retries: Int { lock.withLock { _retries } }
}
