import Foundation
import PlanRouterCore
import Testing

@Suite struct SlotSearchTests {
    // 2026-12-01 is a Tuesday.
    let dayBlock = ScheduleBlock(range: range("2026-12-01 09:00", "2026-12-01 12:00"))

    func request(
        _ minutes: Int, from: String = "2026-12-01 00:00", to: String = "2026-12-31 00:00", count: Int = 3, spread: Bool = true
    ) -> SlotRequest {
        SlotRequest(durationMinutes: minutes, earliest: at(from, newYork), latest: at(to, newYork), count: count, spreadOverDays: spread)
    }

    func starts(_ openings: [Opening], _ zone: TimeZone = newYork) -> [String] {
        openings.map { String(localText($0.range.start, zone).prefix(16)) }
    }

    @Test func providerBusyInTheMiddleOfABlock() {
        let cal = location([provider("a", blocks: [dayBlock], busy: [range("2026-12-01 09:30", "2026-12-01 10:35")])])
        let got = SlotSearch.find(request(60, spread: false), in: cal)
        // 09:00 collides with 09:30; the next aligned start after 10:35 is 10:40; 11:40 + 60 > 12:00.
        #expect(starts(got) == ["2026-12-01 10:40"])
        #expect(got.first?.range.end == at("2026-12-01 11:40", newYork))
        #expect(got.first?.operatoryID == "op1")
    }

    @Test func operatoryBusyForcesAnotherOperatory() {
        let cal = location(
            [provider("a", ops: ["op1", "op2"], blocks: [dayBlock])],
            operatoryBusy: ["op1": [range("2026-12-01 08:00", "2026-12-01 10:00")]])
        let got = SlotSearch.find(request(60, count: 1), in: cal)
        #expect(got == [Opening(providerID: "a", operatoryID: "op2", range: range("2026-12-01 09:00", "2026-12-01 10:00"))])
    }

    @Test func allOperatoriesBusyMeansNoOpening() {
        let whole = range("2026-12-01 09:00", "2026-12-01 12:00")
        let cal = location(
            [provider("a", ops: ["op1", "op2"], blocks: [dayBlock])], operatoryBusy: ["op1": [whole], "op2": [whole]])
        #expect(SlotSearch.find(request(30), in: cal).isEmpty)
    }

    @Test func blockOperatoriesOverrideTheProvidersList() {
        let block = ScheduleBlock(range: dayBlock.range, operatoryIDs: ["op9"])
        let cal = location(
            [provider("a", ops: ["op1"], blocks: [block])],
            operatoryBusy: ["op9": [range("2026-12-01 09:00", "2026-12-01 09:20")]])
        let got = SlotSearch.find(request(30, count: 1), in: cal)
        #expect(got.map(\.operatoryID) == ["op9"])
        #expect(starts(got) == ["2026-12-01 09:20"])
    }

    @Test func noOperatoriesAtAllChecksOnlyTheProvider() {
        let cal = location([provider("a", ops: [], blocks: [dayBlock])], operatoryBusy: ["op1": [dayBlock.range]])
        let got = SlotSearch.find(request(30, count: 1), in: cal)
        #expect(got.map(\.operatoryID) == [nil])
        #expect(starts(got) == ["2026-12-01 09:00"])
    }

    @Test func doNotScheduleBlockoutIsNeverAllowed() {
        let cal = location(
            [provider("a", blocks: [dayBlock])],
            blockouts: [Blockout(range: range("2026-12-01 08:30", "2026-12-01 10:00"), kind: "do_not_schedule")])
        var r = request(60, count: 1)
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 10:00"])
        r.allowedBlockoutKinds = ["do_not_schedule", "crown_only"]
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 10:00"])
    }

    @Test func crownOnlyBlockoutOnlyForRequestsThatAllowIt() {
        let cal = location(
            [provider("a", blocks: [dayBlock]), provider("b", blocks: [dayBlock])],
            blockouts: [Blockout(range: range("2026-12-01 09:00", "2026-12-01 10:00"), kind: "crown_only", providerID: "a")])
        var r = request(60, count: 1)
        r.providerID = "a"
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 10:00"])
        r.allowedBlockoutKinds = ["crown_only"]
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 09:00"])
        // Provider b is not blocked at all.
        r.providerID = "b"
        r.allowedBlockoutKinds = []
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 09:00"])
    }

    @Test func operatoryLevelBlockoutLeavesOtherOperatories() {
        let blockout = Blockout(range: range("2026-12-01 09:00", "2026-12-01 10:00"), kind: "do_not_schedule", operatoryIDs: ["op1"])
        let two = location([provider("a", ops: ["op1", "op2"], blocks: [dayBlock])], blockouts: [blockout])
        #expect(SlotSearch.find(request(60, count: 1), in: two).map(\.operatoryID) == ["op2"])
        #expect(starts(SlotSearch.find(request(60, count: 1), in: two)) == ["2026-12-01 09:00"])
        let one = location([provider("a", ops: ["op1"], blocks: [dayBlock])], blockouts: [blockout])
        #expect(starts(SlotSearch.find(request(60, count: 1), in: one)) == ["2026-12-01 10:00"])
    }

    @Test func roleSearchPicksTheEarliestAcrossProviders() {
        let cal = location([
            provider(
                "hyg", roles: ["hygienist"], ops: ["op3"], blocks: [ScheduleBlock(range: range("2026-12-01 07:00", "2026-12-01 12:00"))]),
            provider("d1", ops: ["op1"], blocks: [dayBlock], busy: [range("2026-12-01 09:00", "2026-12-01 10:00")]),
            provider("d2", ops: ["op2"], blocks: [ScheduleBlock(range: range("2026-12-01 09:30", "2026-12-01 12:00"))]),
        ])
        var r = request(60, count: 1)
        r.providerRole = "dentist"
        let got = SlotSearch.find(r, in: cal)
        #expect(got.map(\.providerID) == ["d2"])
        #expect(starts(got) == ["2026-12-01 09:30"])
        // No role: the hygienist at 07:00.
        r.providerRole = nil
        #expect(SlotSearch.find(r, in: cal).map(\.providerID) == ["hyg"])
        // Unknown provider: nothing.
        r.providerID = "nobody"
        #expect(SlotSearch.find(r, in: cal).isEmpty)
    }

    @Test func tiesGoToProviderOrder() {
        let cal = location([
            provider("second", ops: ["op2"], blocks: [dayBlock]), provider("first", ops: ["op1"], blocks: [dayBlock]),
        ])
        var r = request(60, count: 2, spread: false)
        r.providerRole = "dentist"
        let got = SlotSearch.find(r, in: cal)
        #expect(got.map(\.providerID) == ["second", "first"])
        #expect(starts(got) == ["2026-12-01 09:00", "2026-12-01 09:00"])
    }

    @Test func spreadOverDaysVersusNot() {
        let blocks = ["2026-12-01", "2026-12-02"].map { ScheduleBlock(range: range("\($0) 09:00", "\($0) 12:00")) }
        let cal = location([provider("a", blocks: blocks)])
        #expect(starts(SlotSearch.find(request(60, count: 3), in: cal)) == ["2026-12-01 09:00", "2026-12-02 09:00"])
        // Without spreading, openings of one provider never overlap each other (they can all be held).
        #expect(
            starts(SlotSearch.find(request(60, count: 4, spread: false), in: cal))
                == ["2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 11:00", "2026-12-02 09:00"])
    }

    @Test func picksAreMutuallyHoldableAcrossProvidersSharingAChair() {
        let cal = location([provider("a", ops: ["op1"], blocks: [dayBlock]), provider("b", ops: ["op1"], blocks: [dayBlock])])
        let got = SlotSearch.find(request(60, count: 3, spread: false), in: cal)
        // b's 09:00 would need op1 while a holds it; from 10:00 on a and b tie and a comes first.
        #expect(got.map(\.providerID) == ["a", "a", "a"])
        #expect(starts(got) == ["2026-12-01 09:00", "2026-12-01 10:00", "2026-12-01 11:00"])
        let other = location([provider("a", ops: ["op1"], blocks: [dayBlock]), provider("b", ops: ["op2"], blocks: [dayBlock])])
        #expect(SlotSearch.find(request(60, count: 2, spread: false), in: other).map(\.providerID) == ["a", "b"])
    }

    @Test func timesOfDayAndWeekdays() {
        // Mon 2026-11-30 ... Fri 2026-12-04, 08:00-18:00.
        let blocks = (30...34).map { d -> ScheduleBlock in
            let day = d <= 30 ? "2026-11-\(d)" : "2026-12-0\(d - 30)"
            return ScheduleBlock(range: range("\(day) 08:00", "\(day) 18:00"))
        }
        let cal = location([provider("a", blocks: blocks)])
        var r = request(30, from: "2026-11-30 00:00")
        r.timesOfDay = [.afternoon]
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-11-30 12:00", "2026-12-01 12:00", "2026-12-02 12:00"])
        r.weekdays = [3, 5]  // Wednesday, Friday
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-02 12:00", "2026-12-04 12:00"])
        r.timesOfDay = [.evening]
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-02 17:00", "2026-12-04 17:00"])
        r.timesOfDay = [.morning, .evening]
        r.weekdays = [2]
        r.earliest = at("2026-11-30 11:40", newYork)
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 08:00"])
        // The part of the day is decided by the start: 11:50 is a morning start even though it ends at 12:20.
        r.weekdays = [1]
        r.timesOfDay = [.morning]
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-11-30 11:40"])
        r.weekdays = [6, 7]
        #expect(SlotSearch.find(r, in: cal).isEmpty)
    }

    @Test func earliestAndLatestAreHalfOpenEdges() {
        let cal = location([provider("a", blocks: [dayBlock], busy: [range("2026-12-01 08:00", "2026-12-01 10:00")])])
        // Busy ends exactly at 10:00: 10:00 is free.
        #expect(starts(SlotSearch.find(request(60, count: 1), in: cal)) == ["2026-12-01 10:00"])
        #expect(starts(SlotSearch.find(request(60, from: "2026-12-01 11:00", to: "2026-12-01 12:00"), in: cal)) == ["2026-12-01 11:00"])
        #expect(SlotSearch.find(request(60, from: "2026-12-01 11:00", to: "2026-12-01 11:59"), in: cal).isEmpty)
        // 11:01 aligns up to 11:10, which would end at 12:10.
        #expect(SlotSearch.find(request(60, from: "2026-12-01 11:01", to: "2026-12-02 00:00"), in: cal).isEmpty)
        // The block end is an edge too: exactly fits.
        #expect(starts(SlotSearch.find(request(120, count: 1), in: cal)) == ["2026-12-01 10:00"])
    }

    @Test func durationLongerThanAnyFreePieceFindsNothing() {
        let cal = location([
            provider(
                "a", blocks: [dayBlock],
                busy: [range("2026-12-01 10:00", "2026-12-01 10:30"), range("2026-12-01 11:30", "2026-12-01 12:00")])
        ])
        #expect(SlotSearch.find(request(90), in: cal).isEmpty)
        #expect(starts(SlotSearch.find(request(60, count: 1), in: cal)) == ["2026-12-01 09:00"])
    }

    @Test func touchingBlocksWithTheSameOperatoriesMerge() {
        let b1 = ScheduleBlock(range: range("2026-12-01 09:00", "2026-12-01 10:00"), operatoryIDs: ["op1"])
        let b2 = ScheduleBlock(range: range("2026-12-01 10:00", "2026-12-01 11:00"), operatoryIDs: ["op1"])
        let b3 = ScheduleBlock(range: range("2026-12-01 10:00", "2026-12-01 11:00"), operatoryIDs: ["op2"])
        #expect(starts(SlotSearch.find(request(90), in: location([provider("a", blocks: [b2, b1])]))) == ["2026-12-01 09:00"])
        #expect(SlotSearch.find(request(90), in: location([provider("a", blocks: [b1, b3])])).isEmpty)
    }

    @Test func reserveMakesTheNextSearchSkipTheHeldRange() {
        var cal = location([provider("a", ops: ["op1"], blocks: [dayBlock]), provider("b", ops: ["op1"], blocks: [dayBlock])])
        var r = request(60, count: 1)
        r.providerID = "a"
        let first = SlotSearch.find(r, in: cal)
        #expect(starts(first) == ["2026-12-01 09:00"])
        cal.reserve(first[0])
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 10:00"])
        #expect(cal.providers[0].busy == [range("2026-12-01 09:00", "2026-12-01 10:00")])
        // The operatory is held too: b (same chair) moves on as well.
        r.providerID = "b"
        #expect(starts(SlotSearch.find(r, in: cal)) == ["2026-12-01 10:00"])
    }
}
