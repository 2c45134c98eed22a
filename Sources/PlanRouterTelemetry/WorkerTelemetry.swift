import CoreMetrics
import Foundation
import Prometheus

/// The metrics of one process: swift-metrics instruments backed by a swift-prometheus
/// registry that `/metrics` emits. Every series carries the `worker` label.
///
/// Instruments are created once (by the loops' stats objects, at init) and updated
/// where things happen; a few gauges are read from PostgreSQL or librdkafka at scrape
/// time. Passed in explicitly rather than bootstrapped into the global `MetricsSystem`,
/// so tests running several workers in one process each see their own numbers.
public struct WorkerTelemetry: Sendable {
    public let worker: String
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(worker: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.worker = worker
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Prometheus text exposition format 0.0.4 of everything recorded so far.
    public func text() -> String { registry.emitToString() }

    /// Our names already carry their unit (`_total`, `_seconds`), so the descriptor's unit stays empty.
    private func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func dimensions(_ labels: [(String, String)]) -> [(String, String)] { [("worker", worker)] + labels }

    package func counter(_ name: String, help: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
        let d = dimensions(labels)
        return CoreMetrics.Counter(
            label: name, dimensions: d, handler: registry.makeCounter(descriptor: descriptor(name, help), labels: d), factory: factory)
    }

    package func gauge(_ name: String, help: String, _ labels: [(String, String)] = []) -> Recorder {
        let d = dimensions(labels)
        return Recorder(
            label: name, dimensions: d, aggregate: false, handler: registry.makeGauge(descriptor: descriptor(name, help), labels: d),
            factory: factory)
    }

    /// A histogram of values (batch sizes).
    package func histogram(_ name: String, help: String, buckets: [Double]) -> Recorder {
        let d = dimensions([])
        return Recorder(
            label: name, dimensions: d, aggregate: true,
            handler: registry.makeValueHistogram(descriptor: descriptor(name, help), labels: d, buckets: buckets), factory: factory)
    }

    /// A histogram of durations, exported in seconds.
    package func timer(_ name: String, help: String, buckets: [Duration]) -> CoreMetrics.Timer {
        let d = dimensions([])
        return CoreMetrics.Timer(
            label: name, dimensions: d,
            handler: registry.makeDurationHistogram(descriptor: descriptor(name, help), labels: d, buckets: buckets),
            factory: factory)
    }
}
