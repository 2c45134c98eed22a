import CoreMetrics
import Foundation
import PlanRouterTelemetry
import Synchronization

/// Counters of the booking service, recorded through swift-metrics into the process's
/// registry (served by `GET /metrics`, every series labelled `worker="booking"`) and
/// kept in-process for tests.
public final class BookingMetrics: Sendable {
    public let telemetry: WorkerTelemetry
    private let counts = Mutex(Snapshot(bookings: 0, conflicts: 0, tokenFailures: 0, resolutions: [:]))
    private let bookingsMetric, conflictsMetric, tokenFailuresMetric: CoreMetrics.Counter
    private let resolutionMetrics: [String: CoreMetrics.Counter]

    public init(telemetry: WorkerTelemetry = WorkerTelemetry(worker: "booking")) {
        self.telemetry = telemetry
        bookingsMetric = telemetry.counter(
            "planrouter_bookings_total", help: "Appointments booked through a booking link or by a coordinator for the patient.")
        conflictsMetric = telemetry.counter(
            "planrouter_booking_conflicts_total", help: "Booking attempts answered 409: the chosen opening was taken or expired.")
        tokenFailuresMetric = telemetry.counter(
            "planrouter_booking_token_failures_total", help: "Booking links refused: forged, expired, unknown or already used.")
        // Every outcome from the start, so a rate over a quiet outcome reads 0 rather than nothing.
        resolutionMetrics = Dictionary(
            uniqueKeysWithValues: TaskOutcome.allCases.map {
                (
                    $0.rawValue,
                    telemetry.counter(
                        "planrouter_task_resolutions_total", help: "Coordinator tasks resolved, by outcome.", [("outcome", $0.rawValue)])
                )
            })
    }

    /// One appointment booked, through a link or by a coordinator on the patient's behalf.
    public func booked() {
        counts.withLock { $0.bookings += 1 }
        bookingsMetric.increment()
    }
    func conflict() {
        counts.withLock { $0.conflicts += 1 }
        conflictsMetric.increment()
    }
    /// Returns the number of failures so far, for the debug log line.
    func tokenFailure() -> Int64 {
        tokenFailuresMetric.increment()
        return counts.withLock {
            $0.tokenFailures += 1
            return $0.tokenFailures
        }
    }
    /// A coordinator task resolved on the staff surface (same process, same registry).
    public func resolved(_ outcome: TaskOutcome) {
        counts.withLock { $0.resolutions[outcome.rawValue, default: 0] += 1 }
        resolutionMetrics[outcome.rawValue]?.increment()
    }

    public struct Snapshot: Sendable, Hashable {
        public var bookings: Int64
        public var conflicts: Int64
        public var tokenFailures: Int64
        public var resolutions: [String: Int64]
    }

    public var snapshot: Snapshot {
        counts.withLock { $0 }
    }

    /// Prometheus text exposition format 0.0.4: these counters and whatever else the
    /// process records into the same registry (HTTP request metrics).
    public func prometheusText() -> String { telemetry.text() }
}
