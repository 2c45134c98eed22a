import Foundation

/// Patient message texts, per organization (the rules file's `messages:` section)
/// with shipped defaults. Placeholders: {first_name}, {location_name}, {openings},
/// {link}, {deposit}, {reschedule_link} (confirmations). Messages carry only what the patient needs: no procedures,
/// no fees beyond the deposit, no clinical detail.
public struct MessageTemplates: Sendable, Hashable {
    public var offerSMS = "Hi {first_name}, this is {location_name}. Your treatment is ready to book: {openings}. Book here: {link}"
    public var offerEmailSubject = "Book your visit at {location_name}"
    public var offerEmail =
        "Hi {first_name},\n\nThank you for choosing {location_name}. We are holding these openings for you:\n{openings}\n\nBook here: {link}\n"
    public var nudgeSMS = "Hi {first_name}, {location_name} again. Openings for your treatment: {openings}. Book here: {link}"
    public var sameVisitSMS = "Hi {first_name}, before you leave {location_name}: we can book you at {openings}. Book here: {link}"
    public var depositLine = " A {deposit} deposit secures your visit."
    /// A booking's confirmation ({openings}: the booked time; {link}: its calendar file; {reschedule_link}: the
    /// signed link that moves it, valid until the appointment).
    public var confirmationSMS =
        "Hi {first_name}, you're booked at {location_name}: {openings}. Add it to your calendar: {link}"
        + " Need another time? {reschedule_link}"
    public var confirmationEmailSubject = "Your visit at {location_name} is booked"
    public var confirmationEmail =
        "Hi {first_name},\n\nYou're booked at {location_name}: {openings}.\n\nThe calendar file is attached; you can also add it from {link}\n"
        + "\nNeed another time? Choose one here: {reschedule_link}\n"

    public init() {}

    public static let placeholders: Set<String> = ["first_name", "location_name", "openings", "link", "deposit", "reschedule_link"]

    /// Fills `{name}` placeholders in one pass over the template. A placeholder without a value is
    /// left as written, and a value is never read for placeholders itself (a value holding
    /// "{link}" stays that text). One pass rather than Foundation's `replacingOccurrences` per
    /// value, which was 8% of the offer worker's CPU (docs/benchmarks.md, "Scale in locations").
    public static func render(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        out.reserveCapacity(template.utf8.count + 64)
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let afterOpen = rest.index(after: open)
            // The nearest "}" closes, unless another "{" comes first: then this "{" is literal.
            guard let close = rest[afterOpen...].firstIndex(where: { $0 == "}" || $0 == "{" }), rest[close] == "}",
                let value = values[String(rest[afterOpen..<close])]
            else {
                out += "{"
                rest = rest[afterOpen...]
                continue
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }

    /// Placeholders a template uses that do not exist (for rules validation).
    public static func unknownPlaceholders(in template: String) -> [String] {
        var unknown: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = String(rest[rest.index(after: open)..<close])
            if !placeholders.contains(name) { unknown.append(name) }
            rest = rest[rest.index(after: close)...]
        }
        return unknown
    }

    /// "$500.00"
    public static func dollars(_ cents: Int64) -> String {
        let c = abs(cents) % 100
        return "$\(cents / 100).\(c < 10 ? "0" : "")\(c)"
    }
}

/// Formats instants in a location's local time without DateFormatter (hot path, thread-safe).
public enum LocalTime {
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "Tue Dec 1, 9:00 AM"
    public static func format(_ epoch: Int64, in zone: TimeZone) -> String {
        let local = Int(epoch) + zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(epoch)))
        let days = local >= 0 ? local / 86400 : (local - 86399) / 86400
        let (_, m, d) = RFC3339.civilFromDays(days)
        let sod = local - days * 86400
        let h = sod / 3600
        let minute = sod / 60 % 60
        let h12 = h % 12 == 0 ? 12 : h % 12
        return "\(weekdays[((days % 7) + 7) % 7]) \(months[m - 1]) \(d), \(h12):\(minute < 10 ? "0" : "")\(minute) \(h < 12 ? "AM" : "PM")"
    }

    /// "Tue Dec 1, 9:00 AM MST": what patients read (messages, booking pages), with the zone the
    /// location's clocks show at that instant (MST or MDT by date), or its offset (`GMT+10:30`) where
    /// the zone has no abbreviation (`ZoneAbbreviation`).
    public static func formatWithZone(_ epoch: Int64, in zone: TimeZone) -> String {
        format(epoch, in: zone) + " " + ZoneAbbreviation.label(for: zone, at: Date(timeIntervalSince1970: Double(epoch)))
    }
}
