import CoreMetrics
import Foundation
import PlanRouterTelemetry

/// What a consuming loop counts about itself: totals kept in-process (benchmarks and
/// tests read them), and everything recorded through swift-metrics, by topic or kind,
/// when the process has telemetry.
public final class WorkerStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _applied = 0
    private var _deduplicated = 0
    private var _deadLettered = 0
    private var _batches = 0
    private var _retries = 0
    private var _running = false

    private let consumedMetric, appliedMetric, deduplicatedMetric, deadLetteredMetric, errorMetric: LabelledCounters
    private let batchesMetric, retriesMetric: CoreMetrics.Counter?
    private let batchSizeMetric: Recorder?
    private let batchDurationMetric: CoreMetrics.Timer?

    public init(telemetry: WorkerTelemetry? = nil) {
        let t = telemetry
        consumedMetric = LabelledCounters(t, "planrouter_events_consumed_total", help: "Messages polled from Kafka, by topic.", label: "topic")
        appliedMetric = LabelledCounters(t, "planrouter_events_applied_total", help: "New events applied to PostgreSQL, by topic.", label: "topic")
        deduplicatedMetric = LabelledCounters(
            t, "planrouter_events_deduplicated_total", help: "Events skipped because the inbox had already seen their id, by topic.", label: "topic")
        deadLetteredMetric = LabelledCounters(
            t, "planrouter_events_dead_lettered_total", help: "Events sent to the dead-letter topic, by the topic they came from.", label: "topic")
        errorMetric = .errors(t)
        batchesMetric = t?.counter("planrouter_batches_total", help: "Batches applied, one PostgreSQL transaction each.")
        retriesMetric = t?.counter("planrouter_retries_total", help: "Transient failures retried with backoff.")
        batchSizeMetric = t?.histogram(
            "planrouter_batch_size", help: "Messages per applied batch.", buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000])
        batchDurationMetric = t?.timer(
            "planrouter_batch_duration_seconds", help: "Time to apply one batch, retries included.",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)])
    }

    /// Outcomes of one transaction, by the topic each event came from.
    func record(applied: [String: Int], deduplicated: [String: Int], deadLettered: [String: Int]) {
        lock.withLock {
            _applied += applied.values.reduce(0, +)
            _deduplicated += deduplicated.values.reduce(0, +)
            _deadLettered += deadLettered.values.reduce(0, +)
        }
        for (topic, n) in applied { appliedMetric.increment(topic, by: n) }
        for (topic, n) in deduplicated { deduplicatedMetric.increment(topic, by: n) }
        for (topic, n) in deadLettered { deadLetteredMetric.increment(topic, by: n) }
    }
    func recordConsumed(_ topics: some Sequence<String>) {
        for (topic, n) in Dictionary(topics.map { ($0, 1) }, uniquingKeysWith: +) { consumedMetric.increment(topic, by: n) }
    }
    func recordBatch(size: Int, duration: Duration) {
        lock.withLock { _batches += 1 }
        batchesMetric?.increment()
        batchSizeMetric?.record(size)
        batchDurationMetric?.recordNanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
    func recordRetry() {
        lock.withLock { _retries += 1 }
        retriesMetric?.increment()
    }
    /// An error the worker survived, by kind (`database_transient`, `database_refused`, `kafka_commit`, …).
    func recordError(_ kind: String) { errorMetric.increment(kind) }
    func setRunning(_ running: Bool) { lock.withLock { _running = running } }

    public var applied: Int { lock.withLock { _applied } }
    public var deduplicated: Int { lock.withLock { _deduplicated } }
    public var deadLettered: Int { lock.withLock { _deadLettered } }
    public var batches: Int { lock.withLock { _batches } }
    public var retries: Int { lock.withLock { _retries } }
    /// True while the worker's loop runs (between the start of `run()` and its end).
    public var isRunning: Bool { lock.withLock { _running } }
}
