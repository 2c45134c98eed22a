import Foundation

/// An instant with the UTC offset it is written with, for the event fields that carry
/// location-local times: the openings of `patient.messages` and the start and end of
/// `pms.appointment-requests` (`2026-12-01T08:00:00-05:00`). Every other time of the
/// contract is a plain `Date`, written in UTC.
///
/// Two values are equal when both the instant and the offset are; compare `date` for
/// the instant alone.
public struct OffsetDateTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var date: Date
    /// Seconds east of UTC, e.g. -18000 for `-05:00`.
    public var utcOffsetSeconds: Int

    public init(_ date: Date, utcOffsetSeconds: Int = 0) {
        self.date = date
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// The instant with the zone's offset at that instant (what `RFC3339.format(_:in:)` writes).
    public init(_ date: Date, in zone: TimeZone) {
        self.init(date, utcOffsetSeconds: zone.secondsFromGMT(for: date))
    }

    /// Parses an RFC 3339 date-time with offset; `Z` is offset 0.
    public init?(rfc3339 s: String) {
        guard let date = RFC3339.parse(s) else { return nil }
        let u = Array(s.utf8)
        var offset = 0
        if let last = u.last, last != UInt8(ascii: "Z"), last != UInt8(ascii: "z"), u.count >= 6 {
            // RFC3339.parse accepted it, so the suffix is ±hh:mm.
            let sign = u[u.count - 6] == UInt8(ascii: "-") ? -1 : 1
            func digit(_ i: Int) -> Int { Int(u[u.count - 6 + i]) - 0x30 }
            offset = sign * ((digit(1) * 10 + digit(2)) * 3600 + (digit(4) * 10 + digit(5)) * 60)
        }
        self.init(date, utcOffsetSeconds: offset)
    }

    /// `2026-12-01T08:00:00-05:00`, milliseconds only when present; offset 0 is written
    /// `+00:00`. For whole seconds this is exactly `RFC3339.format(date, in: zone)`.
    public var rfc3339: String {
        let t = date.timeIntervalSince1970
        var secs = Int(t.rounded(.down))
        var millis = Int(((t - Double(secs)) * 1000).rounded())
        if millis == 1000 {
            secs += 1
            millis = 0
        }
        let local = secs + utcOffsetSeconds
        let (y, m, d) = RFC3339.civilFromDays(local >= 0 ? local / 86400 : (local - 86399) / 86400)
        let sod = ((local % 86400) + 86400) % 86400
        var s =
            RFC3339.pad(y, 4) + "-" + RFC3339.pad(m, 2) + "-" + RFC3339.pad(d, 2) + "T" + RFC3339.pad(sod / 3600, 2) + ":"
            + RFC3339.pad(sod / 60 % 60, 2) + ":" + RFC3339.pad(sod % 60, 2)
        if millis != 0 { s += "." + RFC3339.pad(millis, 3) }
        let ao = abs(utcOffsetSeconds)
        return s + (utcOffsetSeconds < 0 ? "-" : "+") + RFC3339.pad(ao / 3600, 2) + ":" + RFC3339.pad(ao / 60 % 60, 2)
    }

    public var description: String { rfc3339 }

    /// Ordered by instant, then offset.
    public static func < (a: OffsetDateTime, b: OffsetDateTime) -> Bool {
        a.date != b.date ? a.date < b.date : a.utcOffsetSeconds < b.utcOffsetSeconds
    }
}
