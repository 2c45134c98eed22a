import Foundation
import PlanRouterCore
import Testing

/// The offer worker's calendar cache: a byte budget, least recently used out first.
@Suite struct CalendarCacheTests {
    @Test func itStaysWithinItsBudgetDroppingTheLeastRecentlyUsed() {
        var c = CalendarCache<Int, String>(budgetBytes: 1_000)
        for k in 0..<10 { c.set(k, "v\(k)", bytes: 100) }
        #expect(c.count == 10 && c.bytes == 1_000 && c.evictions == 0)
        _ = c.get(0)  // 0 is now the most recently used; 1 the least
        c.set(10, "v10", bytes: 100)
        // Over budget: down to 75%, oldest first (1, 2, 3, 4), never the entry just stored.
        #expect(c.bytes <= 750 && c.evictions == 4)
        #expect(c.get(1) == nil && c.get(2) == nil && c.get(3) == nil && c.get(4) == nil)
        #expect(c.get(0) == "v0" && c.get(10) == "v10" && c.get(5) == "v5")
    }

    @Test func replacingAnEntryCountsItsNewSizeOnlyAndAnOversizedValueIsNotKept() {
        var c = CalendarCache<String, Int>(budgetBytes: 500)
        c.set("a", 1, bytes: 200)
        c.set("a", 2, bytes: 300)
        #expect(c.bytes == 300 && c.count == 1 && c.get("a") == 2)
        c.set("big", 3, bytes: 501)
        #expect(c.get("big") == nil && c.bytes == 300)
        c.remove("a")
        #expect(c.bytes == 0 && c.count == 0)
    }

    @Test func aCalendarsEstimateGrowsWithItsRanges() {
        let day: Int64 = 86_400
        func calendar(days: Int) -> LocationCalendar {
            let blocks = (0..<days).map { ScheduleBlock(range: TimeRange(start: Int64($0) * day, end: Int64($0) * day + 32_400)) }
            let p = ProviderCalendar(providerID: "p", roles: ["dentist"], operatoryIDs: ["op"], blocks: blocks, busy: [])
            return LocationCalendar(
                locationID: "l", timeZone: TimeZone(identifier: "UTC")!, incrementMinutes: 10, providers: [p], operatoryBusy: [:],
                blockouts: [])
        }
        #expect(calendar(days: 90).estimatedBytes > calendar(days: 10).estimatedBytes + 80 * 16)
    }

    /// A cached calendar is kept for a long time: the lists it was built from (appended to, with
    /// room to spare) are stored in arrays of their length, and searching it gives the same
    /// openings as before.
    @Test func aCalendarKeepsItsListsWithoutRoomToSpare() {
        let day: Int64 = 86_400
        var blocks: [ScheduleBlock] = []
        var busy: [TimeRange] = []
        blocks.reserveCapacity(64)
        busy.reserveCapacity(64)
        for d in 0..<21 {
            let start = Int64(d) * day + 46_800  // 13:00 UTC
            blocks.append(ScheduleBlock(range: TimeRange(start: start, end: start + 28_800), operatoryIDs: ["op-1"]))
            busy.append(TimeRange(start: start, end: start + 3_600))
        }
        #expect(blocks.capacity >= blocks.count + 4 && busy.capacity >= busy.count + 4)
        let p = ProviderCalendar(providerID: "p", roles: ["dentist"], operatoryIDs: ["op-1"], blocks: blocks, busy: busy)
        let calendar = LocationCalendar(
            locationID: "l", timeZone: TimeZone(identifier: "UTC")!, incrementMinutes: 15, providers: [p], operatoryBusy: ["op-1": busy],
            blockouts: [])
        let kept = calendar.providers[0]
        // The allocator may round a block up by less than one element.
        #expect(kept.blocks.capacity - kept.blocks.count <= 1 && kept.busy.capacity - kept.busy.count <= 1)
        #expect(kept.blocks == blocks && kept.busy == busy && calendar.operatoryBusy["op-1"] == busy)
        let request = SlotRequest(providerID: "p", durationMinutes: 60, earliest: 0, latest: 21 * day)
        let openings = SlotSearch.find(request, in: calendar)
        #expect(openings.map(\.range.start) == [50_400, 50_400 + day, 50_400 + 2 * day])
        #expect(openings.allSatisfy { $0.operatoryID == "op-1" })

        // A hold goes into the operatory's one busy list (the search index's), and into no other
        // calendar value: the one it was copied from is unchanged.
        var held = calendar
        held.reserve(openings[0])
        #expect(held.operatoryBusy["op-1"]?.contains { $0.contains(openings[0].range) } == true)
        #expect(SlotSearch.find(request, in: held).first?.range.start == 54_000)
        #expect(calendar.operatoryBusy["op-1"] == busy && SlotSearch.find(request, in: calendar) == openings)
    }
}
