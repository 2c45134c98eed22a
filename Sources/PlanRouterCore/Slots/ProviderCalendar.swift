/// One provider's working blocks and busy time at a location.
///
/// `blocks` is kept sorted by start and `busy` normalised (sorted, merged, empty ranges dropped),
/// both in `init` and whenever they are assigned.
public struct ProviderCalendar: Sendable {
    public var providerID: String
    /// e.g. `["dentist"]`, `["hygienist"]`, `["injector"]`.
    public var roles: Set<String>
    /// The provider's operatories, in order of preference (used for blocks that name none).
    public var operatoryIDs: [String]
    /// When the provider works.
    public var blocks: [ScheduleBlock] {
        didSet { blocks = Self.sortedBlocks(blocks) }
    }
    /// Holds and appointments of the provider.
    public var busy: [TimeRange] {
        didSet { busy = RangeList.normalised(busy) }
    }

    public init(providerID: String, roles: Set<String>, operatoryIDs: [String], blocks: [ScheduleBlock], busy: [TimeRange]) {
        self.providerID = providerID
        self.roles = roles
        self.operatoryIDs = operatoryIDs
        self.blocks = Self.sortedBlocks(blocks)
        self.busy = RangeList.normalised(busy)
    }

    /// The same calendar with its lists in arrays of exactly their length: a calendar is kept for
    /// as long as the offer worker caches it.
    func withoutSpareCapacity() -> ProviderCalendar {
        guard blocks.capacity > blocks.count || busy.capacity > busy.count else { return self }
        var p = self
        p.blocks = blocks.withoutSpareCapacity()
        p.busy = busy.withoutSpareCapacity()
        return p
    }

    static func sortedBlocks(_ blocks: [ScheduleBlock]) -> [ScheduleBlock] {
        var sorted = true
        for i in blocks.indices.dropFirst() where blocks[i].range < blocks[i - 1].range {
            sorted = false
            break
        }
        if sorted { return blocks }
        // Stable: equal ranges keep their input order.
        return blocks.enumerated().sorted { a, b in
            a.element.range != b.element.range ? a.element.range < b.element.range : a.offset < b.offset
        }.map(\.element)
    }
}
