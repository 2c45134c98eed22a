/// A half-open interval [start, end) of UTC instants in seconds since the Unix epoch.
public struct TimeRange: Hashable, Sendable, Comparable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var isEmpty: Bool { end <= start }
    public var duration: Int64 { end - start }

    /// Half-open overlap: touching ranges do not overlap.
    public func overlaps(_ other: TimeRange) -> Bool { start < other.end && other.start < end }
    public func contains(_ other: TimeRange) -> Bool { start <= other.start && other.end <= end }

    /// The smallest range containing all of `ranges` (which must not be empty).
    public static func covering(_ ranges: some Collection<TimeRange>) -> TimeRange {
        precondition(!ranges.isEmpty, "covering needs at least one range")
        return TimeRange(start: ranges.map(\.start).min()!, end: ranges.map(\.end).max()!)
    }

    public static func < (lhs: TimeRange, rhs: TimeRange) -> Bool {
        lhs.start != rhs.start ? lhs.start < rhs.start : lhs.end < rhs.end
    }
}
