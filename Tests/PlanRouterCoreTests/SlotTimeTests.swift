import Foundation
import PlanRouterCore
import Testing

@Suite struct SlotTimeTests {
    func utcInstant(_ s: String) -> Int64 { at(s, utc) }

    @Test func startOfNextBusinessDay() {
        // Friday 2026-12-04 -> Monday 2026-12-07 00:00 local.
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-12-04 15:00", newYork), in: newYork) == at("2026-12-07 00:00", newYork))
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-12-05 10:00", newYork), in: newYork) == at("2026-12-07 00:00", newYork))
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-12-07 00:00", newYork), in: newYork) == at("2026-12-08 00:00", newYork))
        // Late Friday evening local is already Saturday in UTC: still Monday local.
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-12-04 23:30", newYork), in: newYork) == at("2026-12-07 00:00", newYork))
        // Across spring forward (Sun 2026-03-08): Monday 00:00 EDT = 04:00 UTC.
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-03-06 12:00", newYork), in: newYork) == utcInstant("2026-03-09 04:00"))
        // Across fall back (Sun 2026-11-01): Monday 00:00 EST = 05:00 UTC.
        #expect(SlotSearch.startOfNextBusinessDay(after: at("2026-10-30 12:00", newYork), in: newYork) == utcInstant("2026-11-02 05:00"))
    }

    @Test func endOfLocalDayOnDSTDays() {
        let springStart = utcInstant("2026-03-08 05:00")  // 00:00 EST
        let springEnd = SlotSearch.endOfLocalDay(springStart, in: newYork)
        #expect(springEnd == utcInstant("2026-03-09 04:00"))
        #expect(springEnd - springStart == 23 * 3600)
        let fallStart = utcInstant("2026-11-01 04:00")  // 00:00 EDT
        let fallEnd = SlotSearch.endOfLocalDay(fallStart + 3600 * 5, in: newYork)
        #expect(fallEnd == utcInstant("2026-11-02 05:00"))
        #expect(fallEnd - fallStart == 25 * 3600)
        #expect(SlotSearch.endOfLocalDay(at("2026-12-01 23:59", newYork), in: newYork) == at("2026-12-02 00:00", newYork))
        #expect(SlotSearch.endOfLocalDay(at("2026-12-02 00:00", newYork), in: newYork) == at("2026-12-03 00:00", newYork))
        let kathmandu = TimeZone(identifier: "Asia/Kathmandu")!
        #expect(SlotSearch.endOfLocalDay(utcInstant("2026-12-01 12:00"), in: kathmandu) == utcInstant("2026-12-01 18:15"))
    }

    func openings(
        _ zone: TimeZone, increment: Int, block: TimeRange, busy: [TimeRange] = [], earliest: Int64, minutes: Int, count: Int
    )
        -> [Opening]
    {
        let cal = location([provider("a", blocks: [ScheduleBlock(range: block)], busy: busy)], zone: zone, increment: increment)
        return SlotSearch.find(
            SlotRequest(durationMinutes: minutes, earliest: earliest, latest: block.end, count: count, spreadOverDays: false), in: cal)
    }

    @Test func springForwardKeepsLocalAlignment() {
        // 2026-03-08 NY: 02:00 EST (07:00 UTC) jumps to 03:00 EDT. Block 01:00 EST - 05:00 EDT.
        let block = TimeRange(start: utcInstant("2026-03-08 06:00"), end: utcInstant("2026-03-08 09:00"))
        // Busy until 01:55 EST: the next local :x0 is 02:00, which does not exist; it is 03:00 EDT.
        let got = openings(
            newYork, increment: 10, block: block, busy: [TimeRange(start: block.start, end: utcInstant("2026-03-08 06:55"))],
            earliest: block.start, minutes: 50, count: 5)
        // 04:40 EDT would end 05:30 > 05:00
        #expect(got.map { localText($0.range.start, newYork) } == ["2026-03-08 03:00 EDT", "2026-03-08 03:50 EDT"])
        // Off-grid just before the change: 01:53 EST -> 03:00 EDT (local 02:00 does not exist).
        let got2 = openings(
            newYork, increment: 15, block: block, earliest: utcInstant("2026-03-08 06:53"), minutes: 30, count: 2)
        #expect(got2.map { localText($0.range.start, newYork) } == ["2026-03-08 03:00 EDT", "2026-03-08 03:30 EDT"])
        // A block spanning the change gives local :x0 starts on both sides.
        let got3 = openings(newYork, increment: 10, block: block, earliest: utcInstant("2026-03-08 06:25"), minutes: 40, count: 3)
        #expect(
            got3.map { localText($0.range.start, newYork) } == ["2026-03-08 01:30 EST", "2026-03-08 03:10 EDT", "2026-03-08 03:50 EDT"])
    }

    @Test func fallBackKeepsLocalAlignment() {
        // 2026-11-01 NY: 02:00 EDT (06:00 UTC) falls back to 01:00 EST. Block 00:30 EDT - 03:00 EST.
        let block = TimeRange(start: utcInstant("2026-11-01 04:30"), end: utcInstant("2026-11-01 08:00"))
        let got = openings(
            newYork, increment: 10, block: block, busy: [TimeRange(start: block.start, end: utcInstant("2026-11-01 04:45"))],
            earliest: block.start, minutes: 50, count: 5)
        #expect(
            got.map { localText($0.range.start, newYork) }
                == ["2026-11-01 00:50 EDT", "2026-11-01 01:40 EDT", "2026-11-01 01:30 EST"])  // 02:20 EST would end 03:10 > 03:00
        // Off-grid just before the change: 01:53 EDT -> 01:00 EST (the next local :x0 instant).
        let got2 = openings(newYork, increment: 10, block: block, earliest: utcInstant("2026-11-01 05:53"), minutes: 30, count: 1)
        #expect(got2.map { localText($0.range.start, newYork) } == ["2026-11-01 01:00 EST"])
    }

    @Test func spreadUsesLocalDaysOnDSTDays() {
        // Blocks 22:00-24:00 local on Oct 31, Nov 1 (25 h day) and Nov 2; one opening per local day.
        let blocks = [("2026-10-31", "2026-11-01"), ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-03")].map {
            ScheduleBlock(range: TimeRange(start: at("\($0.0) 22:00", newYork), end: at("\($0.1) 00:00", newYork)))
        }
        let cal = location([provider("a", blocks: blocks)])
        let got = SlotSearch.find(
            SlotRequest(durationMinutes: 60, earliest: at("2026-10-31 00:00", newYork), latest: at("2026-11-04 00:00", newYork)), in: cal)
        #expect(got.map { localText($0.range.start, newYork) } == ["2026-10-31 22:00 EDT", "2026-11-01 22:00 EST", "2026-11-02 22:00 EST"])
    }

    @Test func halfHourAndQuarterHourZonesAlignLocally() {
        let kolkata = TimeZone(identifier: "Asia/Kolkata")!  // +05:30
        let k = openings(
            kolkata, increment: 15, block: range("2026-12-01 09:00", "2026-12-01 11:00", kolkata),
            earliest: utcInstant("2026-12-01 03:31"), minutes: 30, count: 2)
        #expect(k.map { localText($0.range.start, kolkata).prefix(16) } == ["2026-12-01 09:15", "2026-12-01 09:45"])
        #expect(k.first?.range.start == utcInstant("2026-12-01 03:45"))
        let kathmandu = TimeZone(identifier: "Asia/Kathmandu")!  // +05:45
        let n = openings(
            kathmandu, increment: 10, block: range("2026-12-01 09:00", "2026-12-01 11:00", kathmandu),
            earliest: utcInstant("2026-12-01 03:18"), minutes: 30, count: 2)
        #expect(n.map { localText($0.range.start, kathmandu).prefix(16) } == ["2026-12-01 09:10", "2026-12-01 09:40"])
        #expect(n.first?.range.start == utcInstant("2026-12-01 03:25"))
        // Busy ending off-grid jumps to the next local :x5/:x0 (increment 5).
        let n5 = openings(
            kathmandu, increment: 5, block: range("2026-12-01 09:00", "2026-12-01 11:00", kathmandu),
            busy: [range("2026-12-01 08:00", "2026-12-01 09:02", kathmandu)], earliest: utcInstant("2026-12-01 00:00"), minutes: 30,
            count: 1)
        #expect(n5.map { localText($0.range.start, kathmandu).prefix(16) } == ["2026-12-01 09:05"])
    }
}
