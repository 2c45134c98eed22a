import Foundation

/// Deterministic synthetic calendars for benchmarks and tests.
public enum SyntheticCalendar {
    /// Weekday schedules 08:00-12:00 and 13:00-17:00 local (lunch gap), for `days` local days from
    /// the local day of `start`, filled with random 30-120 minute appointments covering about
    /// `bookedFraction` of scheduled time (each appointment also occupies one of the provider's
    /// operatories, never double-booking one). Roles cycle dentist, hygienist, injector. Includes a
    /// weekly crown_only blockout per dentist (Tuesday 08:00-10:00) and a location-wide
    /// do_not_schedule on the second Wednesday 15:00-17:00.
    public static func make(
        providers: Int = 10, operatories: Int = 8, days: Int = 90, bookedFraction: Double = 0.6, start: Int64,
        timeZone: TimeZone, seed: UInt64
    ) -> LocationCalendar {
        var rng = SplitMix64(seed: seed)
        let zone = ZoneOffsets(zone: timeZone)
        let roles = ["dentist", "hygienist", "injector"]
        let opNames = (0..<max(operatories, 0)).map { "op\($0 + 1)" }
        var opBusy: [String: [TimeRange]] = [:]
        var blockouts: [Blockout] = []
        var calendars: [ProviderCalendar] = []

        // Local day boundaries and the instants of given local times on each day.
        let firstDay = zone.localDay(start)
        func at(_ day: Int64, _ hour: Int64, _ minute: Int64 = 0) -> Int64 {
            zone.firstInstant(atLocal: day * ZoneOffsets.day + hour * 3600 + minute * 60, after: start - 2 * ZoneOffsets.day)
        }
        let workdays = (0..<Int64(max(days, 0))).map { firstDay + $0 }.filter { ZoneOffsets.isoWeekday(ofDay: $0) <= 5 }
        let dayRanges = workdays.map { d in [TimeRange(start: at(d, 8), end: at(d, 12)), TimeRange(start: at(d, 13), end: at(d, 17))] }

        for p in 0..<max(providers, 0) {
            let id = "prov\(p + 1)"
            let role = roles[p % roles.count]
            let ops = opNames.isEmpty ? [] : [opNames[p % opNames.count], opNames[(p + 1) % opNames.count]]
            var blocks: [ScheduleBlock] = []
            var busy: [TimeRange] = []
            for (w, ranges) in dayRanges.enumerated() {
                for (k, r) in ranges.enumerated() {
                    // Mostly "any of my operatories"; now and then a block pinned to one chair.
                    let pinned = !ops.isEmpty && (w + k + p) % 7 == 0
                    blocks.append(ScheduleBlock(range: r, operatoryIDs: pinned ? [ops[0]] : []))
                    var t = r.start
                    while t < r.end {
                        let minutes = Int64(30 + 15 * Int(rng.next() % 7))  // 30...120
                        let a = TimeRange(start: t, end: min(t + minutes * 60, r.end))
                        t = a.end
                        guard rng.nextDouble() < bookedFraction else { continue }
                        let candidates = pinned ? [ops[0]] : ops
                        if candidates.isEmpty {
                            busy.append(a)
                            continue
                        }
                        let first = Int(rng.next() % UInt64(candidates.count))
                        for j in 0..<candidates.count {
                            let o = candidates[(first + j) % candidates.count]
                            if RangeList.conflictEnd(opBusy[o] ?? [], a.start, a.end) == nil {
                                RangeList.insert(a, into: &opBusy[o, default: []])
                                busy.append(a)
                                break
                            }
                        }
                    }
                }
            }
            if role == "dentist" {
                for d in workdays where ZoneOffsets.isoWeekday(ofDay: d) == 2 {
                    blockouts.append(Blockout(range: TimeRange(start: at(d, 8), end: at(d, 10)), kind: "crown_only", providerID: id))
                }
            }
            calendars.append(ProviderCalendar(providerID: id, roles: [role], operatoryIDs: ops, blocks: blocks, busy: busy))
        }
        if let d = workdays.filter({ ZoneOffsets.isoWeekday(ofDay: $0) == 3 }).dropFirst().first {
            blockouts.append(Blockout(range: TimeRange(start: at(d, 15), end: at(d, 17)), kind: Blockout.doNotSchedule))
        }
        return LocationCalendar(
            locationID: "synthetic-\(seed)", timeZone: timeZone, incrementMinutes: 10, providers: calendars,
            operatoryBusy: opBusy, blockouts: blockouts)
    }
}

/// A small, fast, seedable generator (SplitMix64), so synthetic data is the same on every run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
