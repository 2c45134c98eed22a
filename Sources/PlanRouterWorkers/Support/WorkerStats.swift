import CoreMetrics
import Foundation
import PlanRouterTelemetry
import Synchronization

/// What a consuming loop counts about itself: totals kept in-process (benchmarks and
/// tests read them), and everything recorded through swift-metrics, by topic or kind,
/// when the process has telemetry.
public final class WorkerStats: Sendable {
    private struct Totals {
        var applied = 0
        var deduplicated = 0
        var deadLettered = 0
        var batches = 0
        var retries = 0
        var running = false
    }
    private let totals = Mutex(Totals())

    private let consumedMetric, appliedMetric, deduplicatedMetric, deadLetteredMetric, errorMetric: LabelledCounters
    private let batchesMetric, retriesMetric: CoreMetrics.Counter?
    private let batchSizeMetric: Recorder?
    private let batchDurationMetric: CoreMetrics.Timer?

    public init(telemetry: WorkerTelemetry? = nil) {
        let t = telemetry
        consumedMetric = LabelledCounters(
            t, "planrouter_events_consumed_total", help: "Messages polled from Kafka, by topic.", label: "topic")
        appliedMetric = LabelledCounters(
            t, "planrouter_events_applied_total", help: "New events applied to PostgreSQL, by topic.", label: "topic")
        deduplicatedMetric = LabelledCounters(
            t, "planrouter_events_deduplicated_total", help: "Events skipped because the inbox had already seen their id, by topic.",
            label: "topic")
        deadLetteredMetric = LabelledCounters(
            t, "planrouter_events_dead_lettered_total", help: "Events sent to the dead-letter topic, by the topic they came from.",
            label: "topic")
        errorMetric = .errors(t)
        batchesMetric = t?.counter("planrouter_batches_total", help: "Batches applied, one PostgreSQL transaction each.")
        retriesMetric = t?.counter("planrouter_retries_total", help: "Transient failures retried with backoff.")
        batchSizeMetric = t?.histogram(
            "planrouter_batch_size", help: "Messages per applied batch.",
            buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000])
        batchDurationMetric = t?.timer(
            "planrouter_batch_duration_seconds", help: "Time to apply one batch, retries included.",
            buckets: [
                .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
            ])
    }

    /// Outcomes of one transaction, by the topic each event came from.
    func record(applied: [String: Int], deduplicated: [String: Int], deadLettered: [String: Int]) {
        totals.withLock {
            $0.applied += applied.values.reduce(0, +)
            $0.deduplicated += deduplicated.values.reduce(0, +)
            $0.deadLettered += deadLettered.values.reduce(0, +)
        }
        for (topic, n) in applied { appliedMetric.increment(topic, by: n) }
        for (topic, n) in deduplicated { deduplicatedMetric.increment(topic, by: n) }
        for (topic, n) in deadLettered { deadLetteredMetric.increment(topic, by: n) }
    }
    func recordConsumed(_ topics: some Sequence<String>) {
        for (topic, n) in Dictionary(topics.map { ($0, 1) }, uniquingKeysWith: +) { consumedMetric.increment(topic, by: n) }
    }
    func recordBatch(size: Int, duration: Duration) {
        totals.withLock { $0.batches += 1 }
        batchesMetric?.increment()
        batchSizeMetric?.record(size)
        batchDurationMetric?.recordNanoseconds(
            Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
    func recordRetry() {
        totals.withLock { $0.retries += 1 }
        retriesMetric?.increment()
    }
    /// An error the worker survived, by kind (`database_transient`, `database_refused`, `kafka_commit`, …).
    func recordError(_ kind: String) { errorMetric.increment(kind) }
    func setRunning(_ running: Bool) { totals.withLock { $0.running = running } }

    public var applied: Int { totals.withLock { $0.applied } }
    public var deduplicated: Int { totals.withLock { $0.deduplicated } }
    public var deadLettered: Int { totals.withLock { $0.deadLettered } }
    public var batches: Int { totals.withLock { $0.batches } }
    public var retries: Int { totals.withLock { $0.retries } }
    /// True while the worker's loop runs (between the start of `run()` and its end).
    public var isRunning: Bool { totals.withLock { $0.running } }
}
