import Foundation

/// Derived, search-ready form of a `LocationCalendar`: operatories as integers, merged schedule
/// blocks with resolved operatory lists, blockouts split per provider and per operatory, and the
/// zone's offsets over the calendar's span.
struct CalendarIndex: Sendable {
    struct Block: Sendable {
        var range: TimeRange
        /// Resolved operatory indices, in preference order; empty = the provider has none (only the provider is checked).
        var operatories: [Int]
    }

    struct KindedRange: Sendable {
        var range: TimeRange
        var kind: String
    }

    struct Provider: Sendable {
        /// Sorted by start; blocks of this provider with the same operatory set that touch or overlap are merged.
        var blocks: [Block] = []
        /// maxEnd[i] = max end of blocks[0...i]; non-decreasing, so the first block that may end after t is a binary search.
        var maxEnd: [Int64] = []
        /// Provider-level blockouts that apply (this provider's and location-wide ones).
        var blockouts: [KindedRange] = []
        /// Operatory-level blockouts that apply to this provider, per operatory index.
        var operatoryBlockouts: [[KindedRange]] = []
        /// Normalised forbidden time when the request allows no blockout kind.
        var forbidden: [TimeRange] = []
        var operatoryForbidden: [[TimeRange]] = []
    }

    var providerIndex: [String: Int] = [:]
    var operatoryIndex: [String: Int] = [:]
    var operatoryNames: [String] = []
    var operatoryBusy: [[TimeRange]] = []
    var providers: [Provider] = []
    /// Every blockout kind present, so a request allowing none of them can use the precomputed lists.
    var kinds: Set<String> = []
    var zone: ZoneOffsets

    init(timeZone: TimeZone, providers input: [ProviderCalendar], operatoryBusy: [String: [TimeRange]], blockouts: [Blockout]) {
        self.zone = ZoneOffsets(zone: timeZone)
        var opIndex: [String: Int] = [:]
        var opNames: [String] = []
        func op(_ name: String) -> Int {
            if let i = opIndex[name] { return i }
            opIndex[name] = opNames.count
            opNames.append(name)
            return opNames.count - 1
        }
        for name in operatoryBusy.keys.sorted() { _ = op(name) }
        var lo = Int64.max
        var hi = Int64.min
        for (pi, pc) in input.enumerated() {
            if providerIndex[pc.providerID] == nil { providerIndex[pc.providerID] = pi }
            for o in pc.operatoryIDs { _ = op(o) }
            for b in pc.blocks { for o in b.operatoryIDs { _ = op(o) } }
            if let f = pc.blocks.first { lo = min(lo, f.range.start) }
            for b in pc.blocks { hi = max(hi, b.range.end) }
        }
        for b in blockouts { for o in b.operatoryIDs { _ = op(o) } }
        self.operatoryIndex = opIndex
        self.operatoryNames = opNames
        self.operatoryBusy = operatoryNames.map { operatoryBusy[$0] ?? [] }
        self.zone =
            lo < hi
            ? ZoneOffsets(zone: timeZone, from: lo - 3 * ZoneOffsets.day, to: hi + 3 * ZoneOffsets.day)
            : ZoneOffsets(zone: timeZone)

        let opCount = opNames.count
        // Blocks share one array per distinct operatory list: a provider's blocks nearly all name
        // the same chairs, and an array each was a third of a cached calendar's heap
        // (docs/benchmarks.md, "Scale in locations").
        var shared: [[String]: [Int]] = [:]
        for pc in input {
            var p = Provider()
            var raw: [Block] = []
            raw.reserveCapacity(pc.blocks.count)
            for b in pc.blocks where !b.range.isEmpty {
                let names = b.operatoryIDs.isEmpty ? pc.operatoryIDs : b.operatoryIDs
                let ops: [Int]
                if let known = shared[names] {
                    ops = known
                } else {
                    var seen = Set<Int>()
                    ops = names.map(op).filter { seen.insert($0).inserted }
                    shared[names] = ops
                }
                raw.append(Block(range: b.range, operatories: ops))
            }
            raw = Self.mergeBlocks(raw)
            // Kept for as long as the calendar is cached: no spare capacity.
            p.blocks = raw.withoutSpareCapacity()
            var m = Int64.min
            p.maxEnd = raw.map {
                m = max(m, $0.range.end)
                return m
            }
            p.operatoryBlockouts = Array(repeating: [], count: opCount)
            for b in blockouts where !b.range.isEmpty && (b.providerID == nil || b.providerID == pc.providerID) {
                kinds.insert(b.kind)
                let kr = KindedRange(range: b.range, kind: b.kind)
                if b.operatoryIDs.isEmpty {
                    p.blockouts.append(kr)
                } else {
                    for o in Set(b.operatoryIDs.map(op)) { p.operatoryBlockouts[o].append(kr) }
                }
            }
            p.forbidden = Self.forbidden(p.blockouts, allowing: [])
            p.operatoryForbidden = p.operatoryBlockouts.map { Self.forbidden($0, allowing: []) }
            providers.append(p)
        }
    }

    /// Merges blocks that touch or overlap and have the same operatory set (keeping the first one's order),
    /// so an opening may run across a block boundary that is only an artefact of how the schedule was entered.
    static func mergeBlocks(_ blocks: [Block]) -> [Block] {
        var out: [Block] = []
        out.reserveCapacity(blocks.count)
        // Per distinct operatory set, the index in `out` of its latest block.
        var lastBySet: [Set<Int>: Int] = [:]
        for b in blocks {  // sorted by start
            let key = Set(b.operatories)
            if let i = lastBySet[key], b.range.start <= out[i].range.end {
                out[i].range.end = max(out[i].range.end, b.range.end)
            } else {
                lastBySet[key] = out.count
                out.append(b)
            }
        }
        return out  // still sorted by start: merging only extends ends
    }

    static func forbidden(_ ranges: [KindedRange], allowing allowed: Set<String>) -> [TimeRange] {
        RangeList.normalised(
            ranges.compactMap { r in
                (r.kind == Blockout.doNotSchedule || !allowed.contains(r.kind)) ? r.range : nil
            })
    }
}
