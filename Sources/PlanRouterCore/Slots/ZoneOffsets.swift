import Foundation

/// Local-time arithmetic for one time zone without calling into `TimeZone` per candidate.
///
/// The UTC offsets over a span are computed once (one `secondsFromGMT` call per offset change,
/// found with `nextDaylightSavingTimeTransition(after:)`); lookups inside the span are a binary
/// search over a handful of segments. Outside the span it falls back to `TimeZone` (correct, slower).
struct ZoneOffsets: Sendable {
    static let day: Int64 = 86_400

    let zone: TimeZone
    /// Segment i covers [starts[i], starts[i+1]) (the last one up to `coveredEnd`) with offsets[i].
    private(set) var starts: [Int64] = []
    private(set) var offsets: [Int64] = []
    private(set) var coveredEnd: Int64 = .min

    init(zone: TimeZone) { self.zone = zone }

    init(zone: TimeZone, from: Int64, to: Int64) {
        self.zone = zone
        guard from < to else { return }
        var a = from
        starts.append(a)
        offsets.append(Self.rawOffset(zone, a))
        while let next = Self.rawNextTransition(zone, after: a), next < to, next > a {
            starts.append(next)
            offsets.append(Self.rawOffset(zone, next))
            a = next
        }
        coveredEnd = to
    }

    static func rawOffset(_ zone: TimeZone, _ t: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
    }

    static func rawNextTransition(_ zone: TimeZone, after t: Int64) -> Int64? {
        guard let d = zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: TimeInterval(t))) else {
            return nil
        }
        return Int64(d.timeIntervalSince1970.rounded(.up))
    }

    @inline(__always)
    private func segmentIndex(_ t: Int64) -> Int? {
        guard !starts.isEmpty, t >= starts[0], t < coveredEnd else { return nil }
        var lo = 0
        var hi = starts.count
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if starts[mid] <= t { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// UTC offset in seconds at `t`, and the instant of the next offset change (or .max).
    @inline(__always)
    func segment(at t: Int64) -> (offset: Int64, end: Int64) {
        if let i = segmentIndex(t) {
            return (offsets[i], i + 1 < starts.count ? starts[i + 1] : coveredEnd)
        }
        let end = Self.rawNextTransition(zone, after: t) ?? .max
        return (Self.rawOffset(zone, t), end > t ? end : .max)
    }

    @inline(__always)
    func offset(at t: Int64) -> Int64 { segment(at: t).offset }

    /// Local seconds (as if the local wall clock were UTC) at `t`.
    @inline(__always)
    func local(_ t: Int64) -> Int64 { t + offset(at: t) }

    /// Local day number (days since 1970-01-01 local) of `t`.
    @inline(__always)
    func localDay(_ t: Int64) -> Int64 { Self.floorDiv(local(t), Self.day) }

    /// The first instant x >= t whose local wall-clock time is a multiple of `step` seconds.
    /// Correct across offset changes: a change between t and the naive answer restarts from the change.
    func alignUp(_ t: Int64, step: Int64) -> Int64 {
        var t = t
        while true {
            let seg = segment(at: t)
            let r = Self.floorMod(t + seg.offset, step)
            if r == 0 { return t }
            let c = t + (step - r)
            if c < seg.end { return c }
            t = seg.end
        }
    }

    /// The first instant x > t at which the local wall clock reads at least `localTarget`,
    /// where `localTarget` is later than the local time at t (a local midnight, a part of the day).
    /// In a gap (spring forward past the target) that is the moment of the change.
    func firstInstant(atLocal localTarget: Int64, after t: Int64) -> Int64 {
        var a = t
        var seg = segment(at: a)
        var first = true
        while true {
            let c = localTarget - seg.offset
            if !first && c < a { return a }
            if c < seg.end { return max(c, t + 1) }
            if seg.end == .max { return max(c, t + 1) }
            a = seg.end
            seg = segment(at: a)
            first = false
        }
    }

    /// Local midnight that ends the local day of `t`.
    func endOfLocalDay(_ t: Int64) -> Int64 {
        firstInstant(atLocal: (localDay(t) + 1) * Self.day, after: t)
    }

    /// Local midnight that starts local day number `day`, for a `t` in an earlier local day.
    func startOfLocalDay(_ day: Int64, after t: Int64) -> Int64 {
        firstInstant(atLocal: day * Self.day, after: t)
    }

    /// ISO weekday (1 = Monday ... 7 = Sunday) of a local day number; day 0 (1970-01-01) was a Thursday.
    @inline(__always)
    static func isoWeekday(ofDay d: Int64) -> Int { Int(floorMod(d + 3, 7)) + 1 }

    @inline(__always)
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    @inline(__always)
    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let r = a % b
        return r < 0 ? r + b : r
    }
}
