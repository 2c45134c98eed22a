import CoreMetrics
import Foundation
import PlanRouterTelemetry
import Synchronization

/// Each office's health in this process: `planrouter_connector_office_up{office}` (1 or 0),
/// failures and events by office, and the `/readyz` detail lines naming unhealthy offices.
public final class ConnectorHealth: Sendable {
    struct Office {
        var healthy = true
        var reason: String?
        var up: Recorder?
    }

    let offices: Mutex<[String: Office]>
    let telemetry: WorkerTelemetry?

    public init(telemetry: WorkerTelemetry?) {
        self.telemetry = telemetry
        offices = Mutex([:])
    }

    public func set(_ office: String, healthy: Bool, reason: String?) {
        let gauge = offices.withLock { o -> Recorder? in
            if o[office] == nil {
                o[office] = Office(
                    up: telemetry?.gauge(
                        "planrouter_connector_office_up", help: "1 while the office's PMS answers with valid keys, 0 after a 401/403.",
                        [("office", office)]))
            }
            o[office]?.healthy = healthy
            o[office]?.reason = reason
            return o[office]?.up
        }
        gauge?.record(healthy ? 1 : 0)
    }

    public func isHealthy(_ office: String) -> Bool { offices.withLock { $0[office]?.healthy ?? true } }

    public func recordFailure(_ office: String, kind: String) {
        telemetry?.counter(
            "planrouter_connector_poll_failures_total", help: "Polls or write-backs that failed, by office and kind.",
            [("office", office), ("kind", kind)]
        ).increment()
    }

    public func recordEvents(_ office: String, _ count: Int) {
        guard count > 0 else { return }
        telemetry?.counter("planrouter_connector_events_total", help: "Events the connector produced, by office.", [("office", office)])
            .increment(by: count)
    }

    /// `/readyz` detail: one line per unhealthy office.
    public func detail() -> [String] {
        offices.withLock { o in
            o.filter { !$0.value.healthy }.sorted { $0.key < $1.key }.map {
                "office unhealthy: \($0.key) (\($0.value.reason ?? "unknown"))"
            }
        }
    }
}
