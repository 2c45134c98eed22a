/// Least-recently-used entries under a byte budget: the offer worker's calendars. At 10,000
/// locations every calendar kept would outgrow the worker's memory; kept within a budget, a
/// location not seen for a while is loaded again from PostgreSQL (one batched query round for
/// all the batch's misses), which costs far less than the RSS.
///
/// Not thread-safe: the owner holds it in a Mutex.
public struct CalendarCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var value: Value
        var bytes: Int
        var lastUsed: UInt64
    }

    /// Evictions go down to this share of the budget, so a full cache does not sort its
    /// entries on every insert (amortised O(log n) per insert). A batch spread over thousands of
    /// locations inserts hundreds of calendars; at 0.9 it sorted the cache twice a batch.
    static var lowWater: Double { 0.75 }

    public let budgetBytes: Int
    private var entries: [Key: Entry] = [:]
    private var tick: UInt64 = 0
    public private(set) var bytes = 0
    public private(set) var evictions = 0

    public init(budgetBytes: Int) { self.budgetBytes = budgetBytes }

    public var count: Int { entries.count }

    /// The value, marked as just used.
    public mutating func get(_ key: Key) -> Value? {
        guard let i = entries.index(forKey: key) else { return nil }
        tick &+= 1
        entries.values[i].lastUsed = tick
        return entries.values[i].value
    }

    /// Stores the value, evicting least recently used entries while over budget. A value larger
    /// than the whole budget is not kept (the caller still has it for this batch).
    public mutating func set(_ key: Key, _ value: Value, bytes: Int) {
        remove(key)
        guard bytes <= budgetBytes else { return }
        tick &+= 1
        entries[key] = Entry(value: value, bytes: bytes, lastUsed: tick)
        self.bytes += bytes
        if self.bytes > budgetBytes { evict(downTo: Int(Double(budgetBytes) * Self.lowWater), keeping: key) }
    }

    public mutating func remove(_ key: Key) {
        if let old = entries.removeValue(forKey: key) { bytes -= old.bytes }
    }

    public mutating func removeAll() {
        entries.removeAll()
        bytes = 0
    }

    private mutating func evict(downTo target: Int, keeping newest: Key) {
        // Sorts keys and ticks only: sorting the entries themselves copied every calendar (each a
        // dozen reference-counted arrays) several times, ~30% of the offer worker's CPU at 10,000
        // locations, where a batch evicts hundreds (docs/benchmarks.md, "Scale in locations").
        for (key, _) in entries.map({ ($0.key, $0.value.lastUsed) }).sorted(by: { $0.1 < $1.1 }) where key != newest {
            guard bytes > target else { break }
            if let entry = entries.removeValue(forKey: key) {
                bytes -= entry.bytes
                evictions += 1
            }
        }
    }
}

extension LocationCalendar {
    /// An estimate of the heap this calendar holds (its arrays, strings and the search index,
    /// which keeps a second copy of the blocks and the only copy of the operatories' busy lists),
    /// for the cache's budget. Calibrated with `planrouter bench calendar-memory` (the resident
    /// memory 5,000 calendars add, divided by their number) on calendars of two providers over 21
    /// and 90 days, with and without operatories and appointments, and of five providers, with and
    /// without holds reserved in them: it errs high by 3-16% (docs/benchmarks.md, "Scale in
    /// locations").
    public var estimatedBytes: Int {
        let string = 32
        var total = 1_024 + locationID.utf8.count
        for p in providers {
            // Both copies of a block (the schedule and the index's) and the index's running end.
            total += 448 + (p.roles.count + p.operatoryIDs.count) * string + p.blocks.count * 64 + p.busy.count * 24
        }
        // Each operatory with bookings, in the index's tables and in every provider's blockout lists.
        for busy in index.operatoryBusy where !busy.isEmpty { total += 256 + providers.count * 96 + busy.count * 24 }
        total += blockouts.count * 96
        return total
    }
}
