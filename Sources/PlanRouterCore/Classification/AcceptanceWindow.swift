import Foundation

/// The acceptance times the classifier takes: from `maximumAge` before the batch's "now"
/// (the worker's clock, not the system clock) to `maximumLead` after it.
///
/// An acceptance outside it is not a plausible event: one dated 1900 would look decades
/// overdue and escalate at once, and one dated 9999 could never be replaced by a real
/// re-acceptance ("the newer acceptance wins"). Such events are dead-lettered as
/// `invalid_data` with the reason from `violation`.
public struct AcceptanceWindow: Sendable, Hashable {
    /// How far after "now" an acceptance may be (clock skew between the PMS and the worker).
    public var maximumLead: Duration
    /// How far before "now" an acceptance may be (backfills older than this are refused).
    public var maximumAge: Duration

    /// Not more than 1 day ahead, not older than 2 years (730 days).
    public static let standard = AcceptanceWindow(maximumLead: .seconds(86_400), maximumAge: .seconds(730 * 86_400))

    public init(maximumLead: Duration, maximumAge: Duration) {
        self.maximumLead = maximumLead
        self.maximumAge = maximumAge
    }

    /// Nil when `time` is inside the window around `now`; else the dead-letter reason,
    /// naming the field (a JSON pointer such as `/data/accepted_at`) and the bound.
    public func violation(_ time: Date, now: Date, field: String) -> String? {
        let lead = Self.seconds(maximumLead)
        let age = Self.seconds(maximumAge)
        if time.timeIntervalSince(now) > lead {
            return "\(field): more than \(Self.show(lead)) after the worker's time \(RFC3339.format(now)) (acceptance window)"
        }
        if now.timeIntervalSince(time) > age {
            return "\(field): more than \(Self.show(age)) before the worker's time \(RFC3339.format(now)) (acceptance window)"
        }
        return nil
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// `24 h`, `730 days`, `90 s`: the unit the settings are given in when it divides evenly.
    static func show(_ s: Double) -> String {
        if s >= 2 * 86_400, s.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(s / 86_400)) days" }
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600)) h" }
        return "\(Int(s.rounded())) s"
    }
}
