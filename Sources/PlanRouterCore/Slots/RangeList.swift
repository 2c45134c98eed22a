/// Helpers over sorted, disjoint, non-adjacent lists of ranges ("normalised" lists).
enum RangeList {
    /// Sorts, drops empty ranges, and merges overlapping or touching ones. Fast path for lists that are already normalised.
    static func normalised(_ ranges: [TimeRange]) -> [TimeRange] {
        if isNormalised(ranges) { return ranges }
        let sorted = ranges.filter { !$0.isEmpty }.sorted()
        var out: [TimeRange] = []
        out.reserveCapacity(sorted.count)
        for r in sorted {
            if let last = out.last, r.start <= last.end {
                if r.end > last.end { out[out.count - 1].end = r.end }
            } else {
                out.append(r)
            }
        }
        return out
    }

    static func isNormalised(_ ranges: [TimeRange]) -> Bool {
        var prevEnd = Int64.min
        for r in ranges {
            if r.isEmpty || r.start <= prevEnd { return false }
            prevEnd = r.end
        }
        return true
    }

    /// Index of the first range whose end is after `t` (ends are increasing in a normalised list).
    @inline(__always)
    static func firstEnding(after t: Int64, in list: [TimeRange]) -> Int {
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if list[mid].end > t { hi = mid } else { lo = mid &+ 1 }
        }
        return lo
    }

    /// If [s, e) overlaps a range of the normalised list, the end of that range (the earliest a
    /// start could clear it); nil when free.
    @inline(__always)
    static func conflictEnd(_ list: [TimeRange], _ s: Int64, _ e: Int64) -> Int64? {
        if list.isEmpty { return nil }
        let i = firstEnding(after: s, in: list)
        if i < list.count && list[i].start < e { return list[i].end }
        return nil
    }

    /// Inserts a range into a normalised list, keeping it normalised.
    static func insert(_ r: TimeRange, into list: inout [TimeRange]) {
        guard !r.isEmpty else { return }
        // First range that ends at or after r.start (touching counts, so it merges).
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if list[mid].end >= r.start { hi = mid } else { lo = mid + 1 }
        }
        var merged = r
        var j = lo
        while j < list.count && list[j].start <= merged.end {
            merged.start = min(merged.start, list[j].start)
            merged.end = max(merged.end, list[j].end)
            j += 1
        }
        list.replaceSubrange(lo..<j, with: [merged])
    }
}
