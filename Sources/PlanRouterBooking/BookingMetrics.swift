import Foundation

/// In-process counters of the booking service, exported in the Prometheus text format
/// by `GET /metrics`. Kept by hand: four counters do not need a metrics backend.
public final class BookingMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var bookings: Int64 = 0
    private var conflicts: Int64 = 0
    private var tokenFailures: Int64 = 0
    private var resolutions: [String: Int64] = [:]

    public init() {}

    func booked() { lock.withLock { bookings += 1 } }
    func conflict() { lock.withLock { conflicts += 1 } }
    /// Returns the number of failures so far, for the debug log line.
    func tokenFailure() -> Int64 { lock.withLock { tokenFailures += 1; return tokenFailures } }
    func resolved(_ outcome: TaskOutcome) { lock.withLock { resolutions[outcome.rawValue, default: 0] += 1 } }

    public struct Snapshot: Sendable, Hashable {
        public var bookings: Int64
        public var conflicts: Int64
        public var tokenFailures: Int64
        public var resolutions: [String: Int64]
    }

    public var snapshot: Snapshot {
        lock.withLock { Snapshot(bookings: bookings, conflicts: conflicts, tokenFailures: tokenFailures, resolutions: resolutions) }
    }

    /// Prometheus text exposition format 0.0.4.
    public func prometheusText() -> String {
        let s = snapshot
        var out = ""
        func counter(_ name: String, _ help: String, _ samples: [(labels: String, value: Int64)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for sample in samples { out += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        counter("planrouter_bookings_total", "Appointments booked through a booking link.", [("", s.bookings)])
        counter(
            "planrouter_booking_conflicts_total", "Booking attempts answered 409: the chosen opening was taken or expired.",
            [("", s.conflicts)])
        counter(
            "planrouter_booking_token_failures_total", "Booking links refused: forged, expired, unknown or already used.",
            [("", s.tokenFailures)])
        counter(
            "planrouter_task_resolutions_total", "Coordinator tasks resolved, by outcome.",
            TaskOutcome.allCases.map { ("{outcome=\"\($0.rawValue)\"}", s.resolutions[$0.rawValue] ?? 0) })
        return out
    }
}
