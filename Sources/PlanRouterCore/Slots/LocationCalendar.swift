import Foundation

/// A location's whole calendar, loaded into memory for slot search.
///
/// Busy lists are normalised (sorted, merged) and a search index is rebuilt whenever a property is
/// assigned; `reserve(_:)` updates both incrementally. Build the calendar once per batch, search
/// many times.
public struct LocationCalendar: Sendable {
    public var locationID: String
    /// IANA zone; all day boundaries and alignment are local.
    public var timeZone: TimeZone {
        get { _timeZone }
        set {
            _timeZone = newValue
            rebuildIndex()
        }
    }
    /// 5, 10 or 15: slot starts are aligned to this in local time (local minutes since local midnight % increment == 0).
    public var incrementMinutes: Int
    public var providers: [ProviderCalendar] {
        get { _providers }
        set {
            _providers = newValue
            rebuildIndex()
        }
    }
    /// Appointments and holds per operatory (those with any). Kept once, in the search index:
    /// a second copy here diverged from the index's at the first hold, and for a calendar full of
    /// bookings it was about a third of the calendar's memory.
    public var operatoryBusy: [String: [TimeRange]] {
        get {
            var out: [String: [TimeRange]] = [:]
            for (name, busy) in zip(index.operatoryNames, index.operatoryBusy) where !busy.isEmpty { out[name] = busy }
            return out
        }
        set { rebuildIndex(operatoryBusy: newValue.mapValues(RangeList.normalised)) }
    }
    public var blockouts: [Blockout] {
        get { _blockouts }
        set {
            _blockouts = newValue
            rebuildIndex()
        }
    }

    private var _timeZone: TimeZone
    private var _providers: [ProviderCalendar]
    private var _blockouts: [Blockout]
    private(set) var index: CalendarIndex

    public init(
        locationID: String, timeZone: TimeZone, incrementMinutes: Int, providers: [ProviderCalendar],
        operatoryBusy: [String: [TimeRange]], blockouts: [Blockout]
    ) {
        self.locationID = locationID
        self.incrementMinutes = incrementMinutes
        self._timeZone = timeZone
        self._providers = providers.map { $0.withoutSpareCapacity() }
        self._blockouts = blockouts
        self.index = CalendarIndex(
            timeZone: timeZone, providers: providers,
            operatoryBusy: operatoryBusy.mapValues { RangeList.normalised($0).withoutSpareCapacity() }, blockouts: blockouts)
    }

    private mutating func rebuildIndex(operatoryBusy: [String: [TimeRange]]? = nil) {
        index = CalendarIndex(
            timeZone: _timeZone, providers: _providers, operatoryBusy: operatoryBusy ?? self.operatoryBusy, blockouts: _blockouts)
    }

    /// Marks a range busy for a provider (and operatory) — used after the worker holds an opening,
    /// so the next search in the same batch does not offer it again.
    public mutating func reserve(_ opening: Opening) {
        let r = opening.range
        guard !r.isEmpty else { return }
        if let p = index.providerIndex[opening.providerID] {
            RangeList.insert(r, into: &_providers[p].busy)
        }
        if let op = opening.operatoryID {
            if let o = index.operatoryIndex[op] {
                RangeList.insert(r, into: &index.operatoryBusy[o])
            } else {
                // An operatory the index has never seen; rare.
                var busy = operatoryBusy
                RangeList.insert(r, into: &busy[op, default: []])
                rebuildIndex(operatoryBusy: busy)
            }
        }
    }

    /// Provider i's busy list (normalised).
    @inline(__always)
    func providerBusy(_ i: Int) -> [TimeRange] { _providers[i].busy }
}
