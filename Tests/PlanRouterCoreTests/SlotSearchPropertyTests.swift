import Foundation
import PlanRouterCore
import Testing

/// Random calendars checked against a slow, independent brute-force reading of the rules.
@Suite struct SlotSearchPropertyTests {
    struct Brute {
        let cal: LocationCalendar
        let req: SlotRequest
        let gregorian: Calendar
        /// Per provider: merged blocks (range, operatory set, in preference order), computed naively.
        let merged: [[(TimeRange, [String])]]

        init(_ cal: LocationCalendar, _ req: SlotRequest) {
            self.cal = cal
            self.req = req
            var g = Calendar(identifier: .gregorian)
            g.timeZone = cal.timeZone
            gregorian = g
            merged = cal.providers.map { p in
                var blocks: [(TimeRange, [String])] = p.blocks.map { b in
                    var seen = Set<String>()
                    return (b.range, (b.operatoryIDs.isEmpty ? p.operatoryIDs : b.operatoryIDs).filter { seen.insert($0).inserted })
                }.filter { $0.0.start < $0.0.end }
                var changed = true
                while changed {
                    changed = false
                    outer: for i in blocks.indices {
                        for j in blocks.indices where i != j && Set(blocks[i].1) == Set(blocks[j].1) {
                            let a = blocks[i].0
                            let b = blocks[j].0
                            if a.start <= b.end && b.start <= a.end {
                                blocks[i].0 = TimeRange(start: min(a.start, b.start), end: max(a.end, b.end))
                                blocks.remove(at: j)
                                changed = true
                                break outer
                            }
                        }
                    }
                }
                return blocks
            }
        }

        /// `providerID` and `providerRole` both restrict (the role is a hard constraint even for a named provider).
        func eligible(_ p: ProviderCalendar) -> Bool {
            (req.providerID.map { p.providerID == $0 } ?? true) && (req.providerRole.map { p.roles.contains($0) } ?? true)
        }

        func localDay(_ t: Int64) -> DateComponents {
            gregorian.dateComponents([.year, .month, .day, .hour, .weekday], from: Date(timeIntervalSince1970: TimeInterval(t)))
        }

        /// Whether provider index pi may take [s, s+duration) in operatory op, given earlier picks.
        func valid(_ pi: Int, _ s: Int64, _ op: String?, picked: [Opening]) -> Bool {
            let p = cal.providers[pi]
            let e = s + Int64(req.durationMinutes) * 60
            let r = TimeRange(start: s, end: e)
            guard eligible(p), s >= req.earliest, e <= req.latest else { return false }
            guard
                (s + Int64(cal.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(s)))))
                    % Int64(cal.incrementMinutes * 60) == 0
            else { return false }
            guard merged[pi].contains(where: { $0.0.contains(r) && (op == nil ? $0.1.isEmpty : $0.1.contains(op!)) }) else { return false }
            if p.busy.contains(where: { $0.overlaps(r) }) { return false }
            if let op, (cal.operatoryBusy[op] ?? []).contains(where: { $0.overlaps(r) }) { return false }
            for b in cal.blockouts where b.range.overlaps(r) && (b.providerID == nil || b.providerID == p.providerID) {
                if b.kind != "do_not_schedule" && req.allowedBlockoutKinds.contains(b.kind) { continue }
                if b.operatoryIDs.isEmpty || (op != nil && b.operatoryIDs.contains(op!)) { return false }
            }
            for o in picked where o.range.overlaps(r) && (o.providerID == p.providerID || (op != nil && o.operatoryID == op)) {
                return false
            }
            let c = localDay(s)
            if !req.weekdays.isEmpty && !req.weekdays.contains((c.weekday! + 5) % 7 + 1) { return false }
            if !req.timesOfDay.isEmpty {
                let tod: TimeOfDay = c.hour! < 12 ? .morning : c.hour! < 17 ? .afternoon : .evening
                if !req.timesOfDay.contains(tod) { return false }
            }
            if req.spreadOverDays {
                let day = [c.year!, c.month!, c.day!]
                if picked.contains(where: {
                    let d = localDay($0.range.start)
                    return [d.year!, d.month!, d.day!] == day
                }) {
                    return false
                }
            }
            return true
        }

        /// The earliest valid (start, provider index) given earlier picks, scanning every minute of every block.
        func earliest(picked: [Opening]) -> (Int64, Int)? {
            var best: (Int64, Int)?
            for (pi, p) in cal.providers.enumerated() where eligible(p) {
                for (range, ops) in merged[pi] {
                    var s = max(range.start, req.earliest)
                    s = (s + 59) / 60 * 60
                    while s + Int64(req.durationMinutes) * 60 <= range.end {
                        if let b = best, s > b.0 || (s == b.0 && pi >= b.1) { break }
                        let candidates: [String?] = ops.isEmpty ? [nil] : ops.map { $0 }
                        if candidates.contains(where: { valid(pi, s, $0, picked: picked) }) {
                            best = (s, pi)
                            break
                        }
                        s += 60
                    }
                }
            }
            return best
        }
    }

    static let zones = ["America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "UTC", "Australia/Lord_Howe"].map {
        TimeZone(identifier: $0)!
    }
    /// Days around both 2026 NY changes, Lord Howe's 30-minute change (2026-04-05), and an ordinary day.
    static let bases: [Int64] = ["2026-03-07 00:00", "2026-10-31 00:00", "2026-04-04 00:00", "2026-12-01 00:00"].map { at($0, utc) }

    static func randomCase(_ rng: inout SplitMix64) -> (LocationCalendar, SlotRequest) {
        func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func subset(_ all: [String]) -> [String] { all.filter { _ in int(2) == 0 }.shuffled(using: &rng) }
        let zone = zones[int(zones.count)]
        let base = bases[int(bases.count)]
        let span: Int64 = 3 * 86_400
        func minute(_ lo: Int64 = 0, _ hi: Int64) -> Int64 { lo + Int64(int(Int((hi - lo) / 60))) * 60 }
        let ops = ["o1", "o2", "o3"]
        let roles = ["dentist", "hygienist"]
        var providers: [ProviderCalendar] = []
        for i in 0..<(1 + int(3)) {
            let blocks = (0..<(1 + int(4))).map { _ -> ScheduleBlock in
                let s = base + minute(0, span)
                return ScheduleBlock(range: TimeRange(start: s, end: s + Int64(60 + int(600)) * 60), operatoryIDs: subset(ops))
            }
            let busy = (0..<int(7)).map { _ -> TimeRange in
                let s = base + minute(0, span)
                return TimeRange(start: s, end: s + Int64(5 + int(180)) * 60)
            }
            providers.append(
                ProviderCalendar(providerID: "p\(i)", roles: [roles[int(2)]], operatoryIDs: subset(ops), blocks: blocks, busy: busy))
        }
        var opBusy: [String: [TimeRange]] = [:]
        for o in ops {
            opBusy[o] = (0..<int(6)).map { _ in
                let s = base + minute(0, span)
                return TimeRange(start: s, end: s + Int64(5 + int(180)) * 60)
            }
        }
        let kinds = ["do_not_schedule", "crown_only", "hygiene_only"]
        let blockouts = (0..<int(4)).map { _ -> Blockout in
            let s = base + minute(0, span)
            return Blockout(
                range: TimeRange(start: s, end: s + Int64(15 + int(240)) * 60), kind: kinds[int(3)],
                providerID: int(2) == 0 ? nil : "p\(int(providers.count))", operatoryIDs: int(2) == 0 ? [] : subset(ops))
        }
        let cal = LocationCalendar(
            locationID: "r", timeZone: zone, incrementMinutes: [5, 10, 15][int(3)], providers: providers, operatoryBusy: opBusy,
            blockouts: blockouts)
        let earliest = base + Int64(int(Int(span))) - 3600
        var req = SlotRequest(
            durationMinutes: 10 + 5 * int(35), earliest: earliest, latest: earliest + Int64(3600 + int(Int(span))), count: 1 + int(4),
            spreadOverDays: int(2) == 0)
        switch int(3) {
        case 0: req.providerID = "p\(int(providers.count + 1))"
        case 1: req.providerRole = roles[int(2)]
        default: break
        }
        if int(3) == 0 { req.timesOfDay = Set(TimeOfDay.allCases.filter { _ in int(2) == 0 }) }
        if int(3) == 0 { req.weekdays = Set((1...7).filter { _ in int(2) == 0 }) }
        if int(2) == 0 { req.allowedBlockoutKinds = Set(kinds.filter { _ in int(2) == 0 }) }
        return (cal, req)
    }

    /// Seeds 1000 + batch unless PLANROUTER_TEST_SEED gives another base.
    @Test(arguments: 0..<8)
    func everyOpeningIsValidAndNoneIsSkipped(batch: Int) {
        let seed = TestSeed(default: 1000)
        var rng = seed.generator(stream: UInt64(batch))
        var nonEmpty = 0
        for _ in 0..<25 {
            let (cal, req) = Self.randomCase(&rng)
            let got = SlotSearch.find(req, in: cal)
            let brute = Brute(cal, req)
            var picked: [Opening] = []
            for o in got {
                let pi = cal.providers.firstIndex { $0.providerID == o.providerID }!
                let expected = brute.earliest(picked: picked)
                #expect(
                    expected?.0 == o.range.start && expected?.1 == pi, "zone \(cal.timeZone.identifier) picked \(picked) got \(o); \(seed)")
                #expect(o.range.duration == Int64(req.durationMinutes) * 60, seed.replay)
                #expect(brute.valid(pi, o.range.start, o.operatoryID, picked: picked), "invalid \(o); \(seed)")
                picked.append(o)
            }
            if got.count < req.count {
                #expect(brute.earliest(picked: picked) == nil, "search stopped early: \(got); \(seed)")
            }
            if !got.isEmpty { nonEmpty += 1 }
        }
        #expect(nonEmpty > 0, seed.replay)
    }

    /// The calendar as the offer worker loads it for a window ending at `known`: blocks, busy time
    /// and blockouts that overlap the window, whole.
    static func truncated(_ cal: LocationCalendar, knownUntil known: Int64) -> LocationCalendar {
        let window = TimeRange(start: .min / 2, end: known)
        return LocationCalendar(
            locationID: cal.locationID, timeZone: cal.timeZone, incrementMinutes: cal.incrementMinutes,
            providers: cal.providers.map { p in
                var p = p
                p.blocks = p.blocks.filter { $0.range.overlaps(window) }
                p.busy = p.busy.filter { $0.overlaps(window) }
                return p
            },
            operatoryBusy: cal.operatoryBusy.mapValues { $0.filter { $0.overlaps(window) } },
            blockouts: cal.blockouts.filter { $0.range.overlaps(window) })
    }

    /// A search on the first part of a calendar either answers as the whole calendar does or says
    /// it cannot (nil); both happen across the random cases.
    @Test(arguments: 0..<4)
    func aSearchOnTheFirstPartOfACalendarAnswersAsTheWholeOrNotAtAll(batch: Int) {
        let seed = TestSeed(default: 2000)
        var rng = seed.generator(stream: UInt64(batch))
        var settled = 0
        var unsettled = 0
        for _ in 0..<60 {
            var (cal, req) = Self.randomCase(&rng)
            if rng.next() % 2 == 0 { req.preferredProviderID = "p\(rng.next() % UInt64(cal.providers.count + 1))" }
            if req.providerRole != nil, rng.next() % 2 == 0 { req.fallbackRoles = ["dentist", "hygienist"].shuffled(using: &rng) }
            let known = req.earliest + Int64(rng.next() % UInt64(max(60, req.latest - req.earliest) + 7200)) - 3600
            let whole = SlotSearch.search(req, in: cal)
            if let part = SlotSearch.search(req, in: Self.truncated(cal, knownUntil: known), knownUntil: known) {
                #expect(part == whole, "known until \(known), latest \(req.latest): \(part) against \(whole); \(seed)")
                if req.latest > known { settled += 1 }
            } else {
                unsettled += 1
            }
        }
        #expect(settled > 0 && unsettled > 0, "settled early \(settled), unsettled \(unsettled); \(seed)")
    }

    @Test func syntheticCalendarIsDeterministicAndRoughlyBooked() {
        let start = at("2026-03-02 00:00", newYork)
        let a = SyntheticCalendar.make(start: start, timeZone: newYork, seed: 7)
        let b = SyntheticCalendar.make(start: start, timeZone: newYork, seed: 7)
        #expect(a.providers.map(\.busy) == b.providers.map(\.busy))
        let scheduled = a.providers.flatMap(\.blocks).reduce(Int64(0)) { $0 + $1.range.duration }
        let booked = a.providers.flatMap(\.busy).reduce(Int64(0)) { $0 + $1.duration }
        let fraction = Double(booked) / Double(scheduled)
        #expect(fraction > 0.4 && fraction < 0.7, "booked \(fraction)")
        // Blocks sit at 08:00 local even after the DST change.
        #expect(
            a.providers[0].blocks.allSatisfy { ["08:00", "13:00"].contains(localText($0.range.start, newYork).dropFirst(11).prefix(5)) })
        let r = SlotSearch.find(
            SlotRequest(providerRole: "dentist", durationMinutes: 60, earliest: start, latest: start + 30 * 86_400), in: a)
        #expect(r.count == 3)
    }
}
