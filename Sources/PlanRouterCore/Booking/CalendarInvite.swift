import Foundation

/// A booked appointment as an iCalendar file (RFC 5545) the patient adds to their calendar:
/// one VEVENT in UTC, so every calendar app places it right whatever the phone's zone.
/// `uid` stays the same for one booking and `sequence` grows when it moves, so a calendar that
/// imported the first file updates its event instead of adding a second (RFC 5545 §3.8.7.4).
public enum CalendarInvite {
    public static func ics(
        uid: String, start: Date, end: Date, summary: String, stamp: Date, location: String? = nil, sequence: Int = 0
    ) -> String {
        var lines = [
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//PlanRouter//Booking//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
            "UID:\(text(uid))@planrouter", "SEQUENCE:\(max(0, sequence))", "DTSTAMP:\(utc(stamp))", "DTSTART:\(utc(start))",
            "DTEND:\(utc(end))", "SUMMARY:\(text(summary))",
        ]
        if let location, !location.isEmpty { lines.append("LOCATION:\(text(location))") }
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return lines.map(fold).joined(separator: "\r\n") + "\r\n"
    }

    /// `yyyyMMdd'T'HHmmss'Z'`.
    static func utc(_ d: Date) -> String {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        let p = c.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", p.year!, p.month!, p.day!, p.hour!, p.minute!, p.second!)
    }

    /// TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 §3.3.11).
    static func text(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case ";": out += "\\;"
            case ",": out += "\\,"
            case "\n", "\r\n", "\r": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// Lines longer than 75 octets continue on the next line after a space (§3.1), never inside a character.
    static func fold(_ line: String) -> String {
        var out = ""
        var width = 0
        for ch in line {
            let n = String(ch).utf8.count
            if width + n > 75 {
                out += "\r\n "
                width = 1
            }
            out.append(ch)
            width += n
        }
        return out
    }

    /// A `data:` URL of the file, for a download link on the confirmation page (no extra route,
    /// nothing stored: the page that confirms the booking carries it).
    public static func dataURL(_ ics: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "data:text/calendar;charset=utf-8," + (ics.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }
}
