import CoreMetrics
import Foundation
import PlanRouterTelemetry
import Synchronization

/// Instruments keyed by a label value (a topic, an error kind), created on first use.
final class LabelledCounters: Sendable {
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let make: @Sendable (String) -> CoreMetrics.Counter?

    /// `make` nil: counting disabled (no telemetry).
    init(_ telemetry: WorkerTelemetry?, _ name: String, help: String, label: String) {
        make = { value in telemetry?.counter(name, help: help, [(label, value)]) }
    }

    /// `planrouter_errors_total{kind}`: every loop of a process counts into the same series.
    static func errors(_ telemetry: WorkerTelemetry?) -> LabelledCounters {
        LabelledCounters(
            telemetry, "planrouter_errors_total",
            help:
                "Failures the worker survived, by kind (database_transient, database_refused, kafka_commit, kafka_delivery, kafka_refused).",
            label: "kind")
    }

    func increment(_ value: String, by amount: Int = 1) {
        guard amount > 0 else { return }
        let counter = counters.withLock { counters -> CoreMetrics.Counter? in
            if let c = counters[value] { return c }
            let c = make(value)
            counters[value] = c
            return c
        }
        counter?.increment(by: Int64(amount))
    }
}
