import Foundation
import PlanRouterCore

/// How the workspace pages spell money, times, ages and audit entries.
enum WorkspaceFormat {
    static func dollars(_ cents: Int64?) -> String {
        guard let cents else { return "—" }
        let whole = abs(cents) / 100
        let digits = String(whole)
        var grouped = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        return (cents < 0 ? "-$" : "$") + grouped + String(format: ".%02lld", abs(cents) % 100)
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "—" }
        return String(format: "%.1f%%", value)
    }

    /// A duration in seconds as minutes, hours or days.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "—" }
        if seconds < 3600 { return String(format: "%.0f min", seconds / 60) }
        if seconds < 2 * 86_400 { return String(format: "%.1f h", seconds / 3600) }
        return String(format: "%.1f days", seconds / 86_400)
    }

    static func age(hours: Double) -> String {
        hours < 48 ? String(format: "%.0f h", hours) : String(format: "%.0f days", hours / 24)
    }

    /// The aging colour of an open task: green under a day, amber under three, red after.
    static func agingClass(hours: Double) -> String {
        hours < 24 ? "fresh" : hours < 72 ? "aging" : "old"
    }

    static func localTime(_ date: Date?, _ zone: TimeZone) -> String {
        guard let date else { return "—" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "EEE MMM d, h:mm a"
        return f.string(from: date)
    }

    static func utcTime(_ date: Date) -> String { localTime(date, TimeZone(identifier: "UTC")!) + " UTC" }

    /// `2026-12-02T09:30` (an `<input type="datetime-local">`) in the location's zone.
    static func parseLocal(_ text: String, timeZone: TimeZone) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = timeZone
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss"] {
            f.dateFormat = format
            if let d = f.date(from: text) { return d }
        }
        return nil
    }

    static func inputLocal(_ date: Date, _ zone: TimeZone) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = zone
        f.dateFormat = "yyyy-MM-dd'T'HH:mm"
        return f.string(from: date)
    }

    static func date(_ value: JSONValue?) -> Date? { value?.stringValue.flatMap(parseTimestamp) }

    /// PostgreSQL's jsonb timestamps (`2026-12-01T14:30:00+00:00`, fractions optional).
    static func parseTimestamp(_ text: String) -> Date? {
        if let d = RFC3339.parse(text) { return d }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// "resolved the task (declined)", "booked an opening for the patient", …
    static func auditPhrase(_ action: String, detail: JSONValue) -> String {
        switch action {
        case "resolve_task": "resolved the task (\(detail["outcome"]?.stringValue ?? "no outcome"))"
        case "book_for_patient": "booked an opening for the patient"
        case "record_attempt":
            "recorded a \(detail["channel"]?.stringValue ?? "contact") attempt (\(label(detail["outcome"]?.stringValue ?? "")))"
        case "snooze_task": "snoozed the task"
        case "reassign_task": "reassigned the task to \(detail["owner_after"]?.stringValue ?? "someone else")"
        default: label(action)
        }
    }

    /// `no_answer` → `no answer`.
    static func label(_ code: String) -> String { code.replacingOccurrences(of: "_", with: " ") }
}

/// The same-day scheduling target the dashboard compares against: `same_day_target` of
/// locations.yaml (the location's, else the organization's), else a labelled default.
public enum SameDayTarget {
    /// Until a target is configured: the figure the dashboard shows, labelled as a default.
    public static let defaultPercent = 40.0

    /// The target (percent), and whether it is the default.
    public static func target(configured: Double?) -> (percent: Double, isDefault: Bool) {
        configured.map { ($0, false) } ?? (defaultPercent, true)
    }
}
