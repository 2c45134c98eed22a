import Foundation

/// A wall-clock time without a zone, `yyyy-MM-dd HH:mm:ss`, as PMSs such as Open Dental
/// store and exchange them (the office's local time). Compared and shifted as written,
/// the way the PMS's own database compares them; turned into an instant only with the
/// office's zone.
public struct LocalTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01 00:00:00 of this wall time read as if it were UTC.
    public let naiveSeconds: Int64

    public init(naiveSeconds: Int64) { self.naiveSeconds = naiveSeconds }

    /// `yyyy-MM-dd HH:mm:ss` (also `yyyy-MM-dd`, read as midnight); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let d = parts[0].split(separator: "-").compactMap { Int($0) }
        let t = parts.count == 2 ? parts[1].split(separator: ":").compactMap { Int($0) } : [0, 0, 0]
        guard d.count == 3, t.count == 3, (1...12).contains(d[1]), (1...31).contains(d[2]), (0...23).contains(t[0]),
            (0...59).contains(t[1]), (0...59).contains(t[2])
        else { return nil }
        let days = Int64(RFC3339.daysFromCivil(year: d[0], month: d[1], day: d[2]))
        naiveSeconds = days * 86_400 + Int64(t[0] * 3600 + t[1] * 60 + t[2])
    }

    /// The wall time `date` shows in `zone`.
    public init(_ date: Date, in zone: TimeZone) {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        naiveSeconds = t + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))))
    }

    /// Open Dental's "no date" value, `0001-01-01 00:00:00`.
    public var isUnset: Bool { naiveSeconds <= Int64(RFC3339.daysFromCivil(year: 1, month: 12, day: 31)) * 86_400 }

    /// The instant this wall time names in `zone`. In a fall-back fold (the hour that occurs
    /// twice) it is the earlier of the two; in a spring-forward gap, the instant the pre-gap
    /// offset gives (a time just after the gap).
    public func instant(in zone: TimeZone) -> Date {
        let candidates = Set(
            [-86_400, 0, 86_400].map { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naiveSeconds + Int64($0)))) })
        let exact = candidates.map { naiveSeconds - Int64($0) }.filter {
            Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double($0)))) == naiveSeconds - $0
        }
        if let earliest = exact.min() { return Date(timeIntervalSince1970: Double(earliest)) }
        let before = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naiveSeconds - 86_400)))
        return Date(timeIntervalSince1970: Double(naiveSeconds - Int64(before)))
    }

    public func adding(seconds: Int64) -> LocalTimestamp { LocalTimestamp(naiveSeconds: naiveSeconds + seconds) }

    /// `yyyy-MM-dd`.
    public var dateText: String { String(description.prefix(10)) }

    public var description: String {
        let days = Self.floorDiv(naiveSeconds, 86_400)
        let secs = naiveSeconds - days * 86_400
        let (y, m, d) = RFC3339.civilFromDays(Int(days))
        return String(format: "%04ld-%02ld-%02ld %02ld:%02ld:%02ld", y, m, d, Int(secs / 3600), Int(secs % 3600 / 60), Int(secs % 60))
    }

    public static func < (a: LocalTimestamp, b: LocalTimestamp) -> Bool { a.naiveSeconds < b.naiveSeconds }

    public static let unset = LocalTimestamp(naiveSeconds: Int64(RFC3339.daysFromCivil(year: 1, month: 1, day: 1)) * 86_400)

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
