import Foundation

/// Counters a worker keeps about itself (exported as metrics by the worker's
/// `/metrics`, printed by benchmarks).
public final class WorkerStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _consumed: [String: Int] = [:]
    private var _deadLetteredByTopic: [String: Int] = [:]
    private var _applied = 0
    private var _deduplicated = 0
    private var _deadLettered = 0
    private var _batches = 0
    private var _retries = 0
    private var _errors: [String: Int] = [:]
    private var _lastBatchDuration: Duration = .zero
    private var _running = false

    public init() {}

    func record(applied: Int, deduplicated: Int, deadLettered: Int) {
        lock.withLock {
            _applied += applied
            _deduplicated += deduplicated
            _deadLettered += deadLettered
        }
    }
    func recordConsumed(_ messages: some Sequence<String>) {
        lock.withLock { for topic in messages { _consumed[topic, default: 0] += 1 } }
    }
    func recordDeadLettered(topics: some Sequence<String>) {
        lock.withLock { for topic in topics { _deadLetteredByTopic[topic, default: 0] += 1 } }
    }
    func recordBatch(size: Int, duration: Duration) {
        lock.withLock {
            _batches += 1
            _lastBatchDuration = duration
        }
    }
    func recordRetry() { lock.withLock { _retries += 1 } }
    /// An error the worker survived, by kind (`database_transient`, `database_refused`, `kafka_commit`, …).
    func recordError(_ kind: String) { lock.withLock { _errors[kind, default: 0] += 1 } }
    func setRunning(_ running: Bool) { lock.withLock { _running = running } }

    public var applied: Int { lock.withLock { _applied } }
    public var deduplicated: Int { lock.withLock { _deduplicated } }
    public var deadLettered: Int { lock.withLock { _deadLettered } }
    public var batches: Int { lock.withLock { _batches } }
    public var retries: Int { lock.withLock { _retries } }
    /// Messages polled, by topic.
    public var consumed: [String: Int] { lock.withLock { _consumed } }
    /// Dead letters written, by the topic the message came from.
    public var deadLetteredByTopic: [String: Int] { lock.withLock { _deadLetteredByTopic } }
    public var errors: [String: Int] { lock.withLock { _errors } }
    public var lastBatchDuration: Duration { lock.withLock { _lastBatchDuration } }
    /// True while the worker's loop runs (between the start of `run()` and its end).
    public var isRunning: Bool { lock.withLock { _running } }
}
