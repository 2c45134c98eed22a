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
    /// Appointments and holds per operatory.
    public var operatoryBusy: [String: [TimeRange]] {
        get { _operatoryBusy }
        set {
            _operatoryBusy = newValue.mapValues(RangeList.normalised)
            rebuildIndex()
        }
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
    private var _operatoryBusy: [String: [TimeRange]]
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
        self._operatoryBusy = operatoryBusy.mapValues { RangeList.normalised($0).withoutSpareCapacity() }
        self._blockouts = blockouts
        self.index = CalendarIndex(timeZone: timeZone, providers: providers, operatoryBusy: _operatoryBusy, blockouts: blockouts)
    }

    private mutating func rebuildIndex() {
        index = CalendarIndex(timeZone: _timeZone, providers: _providers, operatoryBusy: _operatoryBusy, blockouts: _blockouts)
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
            RangeList.insert(r, into: &_operatoryBusy[op, default: []])
            if let o = index.operatoryIndex[op] {
                RangeList.insert(r, into: &index.operatoryBusy[o])
            } else {
                rebuildIndex()  // an operatory the index has never seen; rare
            }
        }
    }

    /// Provider i's busy list (normalised).
    @inline(__always)
    func providerBusy(_ i: Int) -> [TimeRange] { _providers[i].busy }
}
