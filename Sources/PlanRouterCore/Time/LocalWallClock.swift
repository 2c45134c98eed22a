import Foundation

/// Local wall-clock times of a location, computed with its zone's rules for the date in
/// question (never "local midnight + N hours": on a daylight-saving night that is an hour off).
///
/// - A wall time that does not exist (the spring-forward gap, e.g. 02:30 in Denver on the
///   second Sunday of March) maps to the first instant after the gap (03:00 new time).
/// - An ambiguous wall time (the fall-back overlap, e.g. 01:30 in Denver in November) maps to
///   the first of its two instants (the daylight-time one).
public enum LocalWallClock {
    /// The local date (days since 1970-01-01, local) and minute of the day at `date`.
    public static func local(_ date: Date, in zone: TimeZone) -> (day: Int, minute: Int) {
        let epoch = Int64(date.timeIntervalSince1970.rounded(.down))
        let local = epoch + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(epoch))))
        let day = Int(floorDiv(local, 86_400))
        return (day, Int(local - Int64(day) * 86_400) / 60)
    }

    /// The instant at which the wall clock of `zone` reads `minuteOfDay` (0..<1440) on local day
    /// `day` (days since 1970-01-01); see the type's notes for gaps and overlaps.
    public static func instant(day: Int, minuteOfDay: Int, in zone: TimeZone) -> Date {
        Date(timeIntervalSince1970: Double(instants(day: day, minuteOfDay: minuteOfDay, in: zone)[0]))
    }

    /// Every instant at which the wall clock reads that time, earliest first: one normally, two in
    /// an overlap; in a gap, the one instant that ends it.
    static func instants(day: Int, minuteOfDay: Int, in zone: TimeZone) -> [Int64] {
        let wall = Int64(day) * 86_400 + Int64(minuteOfDay) * 60
        // Every offset in force within a day of the wall time (zones change at most once a day).
        let offsets = Set([wall - 86_400, wall, wall + 86_400].map { offset(zone, $0) })
        let valid = offsets.map { wall - $0 }.filter { offset(zone, $0) == wall - $0 }.sorted()
        if !valid.isEmpty { return Array(Set(valid)).sorted() }
        // A gap: local time jumps over `wall`. The first instant whose local time is past it is the change.
        var lo = offsets.map { wall - $0 }.min()!
        var hi = offsets.map { wall - $0 }.max()!
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if mid + offset(zone, mid) >= wall { hi = mid } else { lo = mid + 1 }
        }
        return [lo]
    }

    static func offset(_ zone: TimeZone, _ t: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))))
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}

extension RoutingRules.QuietHours {
    /// Whether `date` falls in the quiet hours, read on the location's wall clock.
    public func contains(_ date: Date, in zone: TimeZone) -> Bool {
        let minute = LocalWallClock.local(date, in: zone).minute
        return startMinute > endMinute
            ? (minute >= startMinute || minute < endMinute) : (minute >= startMinute && minute < endMinute)
    }

    /// When a patient message due at `now` may go out: nil outside quiet hours, else the instant the
    /// location's wall clock next reads the end time (tomorrow's, when the quiet hours started
    /// before midnight), computed with the zone's rules for that date.
    public func end(after now: Date, in zone: TimeZone) -> Date? {
        guard contains(now, in: zone) else { return nil }
        let local = LocalWallClock.local(now, in: zone)
        let day = startMinute > endMinute && local.minute >= startMinute ? local.day + 1 : local.day
        let epoch = Int64(now.timeIntervalSince1970.rounded(.down))
        // In an overlap the first reading can already be past (now is in the repeated hour): the second.
        let end = LocalWallClock.instants(day: day, minuteOfDay: endMinute, in: zone).first { $0 > epoch }
        return end.map { Date(timeIntervalSince1970: Double($0)) }
    }
}
