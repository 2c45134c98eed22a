import Foundation

/// RFC 3339 timestamps: the event contract requires an explicit offset ("Z" or ±hh:mm).
/// Hand-written because it runs for every event and DateFormatter is slow and locale-bound.
public enum RFC3339 {
    /// Parses `2026-11-29T09:30:00-05:00`, `2026-11-29T14:30:00.250Z`; nil when not RFC 3339 with an
    /// offset, or when the instant in UTC falls outside the years 0001-9999.
    public static func parse(_ s: String) -> Date? {
        var u = Array(s.utf8)
        guard u.count >= 20 else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= u.count else { return nil }
            var v = 0
            for i in from..<(from + len) {
                let c = u[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let year = num(0, 4), u[4] == 0x2D, let month = num(5, 2), u[7] == 0x2D, let day = num(8, 2),
            u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t") || u[10] == 0x20,
            let hour = num(11, 2), u[13] == 0x3A, let minute = num(14, 2), u[16] == 0x3A, let second = num(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                fraction += Double(u[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        guard i < u.count else { return nil }
        var offset = 0
        if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
            i += 1
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2), i + 3 < u.count, u[i + 3] == 0x3A, let om = num(i + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            return nil
        }
        guard i == u.count else { return nil }
        u.removeAll()
        let days = daysFromCivil(year: year, month: month, day: day)
        let secs = days * 86400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        // The instant itself must fall in years 0001-9999 UTC: "0001-01-01T00:30:00+01:00"
        // is year 0 and "9999-12-31T23:30:00-05:00" year 10000, which no RFC 3339 UTC
        // timestamp (and so nothing written downstream) can represent.
        guard secs >= earliestSecond, secs < endSecond else { return nil }
        return Date(timeIntervalSince1970: Double(secs) + fraction)
    }

    /// 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in seconds since 1970: the instants
    /// `parse` accepts are in [earliest, end).
    static let earliestSecond = daysFromCivil(year: 1, month: 1, day: 1) * 86400
    static let endSecond = daysFromCivil(year: 10000, month: 1, day: 1) * 86400

    /// `2026-11-29T14:30:00Z` (UTC, milliseconds only when present).
    public static func format(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        var secs = Int(t.rounded(.down))
        var millis = Int(((t - Double(secs)) * 1000).rounded())
        if millis == 1000 {
            secs += 1
            millis = 0
        }
        let (y, m, d) = civilFromDays(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let sod = ((secs % 86400) + 86400) % 86400
        var s =
            pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(sod / 3600, 2) + ":" + pad(sod / 60 % 60, 2) + ":" + pad(sod % 60, 2)
        if millis != 0 { s += "." + pad(millis, 3) }
        return s + "Z"
    }

    /// The same instant written in a zone's local time with its offset, e.g. `2026-11-30T09:00:00-05:00`.
    public static func format(_ date: Date, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: date)
        let local = Int(date.timeIntervalSince1970.rounded(.down)) + offset
        let (y, m, d) = civilFromDays(local >= 0 ? local / 86400 : (local - 86399) / 86400)
        let sod = ((local % 86400) + 86400) % 86400
        let sign = offset < 0 ? "-" : "+"
        let ao = abs(offset)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(sod / 3600, 2) + ":" + pad(sod / 60 % 60, 2) + ":"
            + pad(sod % 60, 2) + sign + pad(ao / 3600, 2) + ":" + pad(ao / 60 % 60, 2)
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
