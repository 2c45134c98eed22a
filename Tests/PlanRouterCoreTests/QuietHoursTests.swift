import Foundation
import PlanRouterCore
import Testing

/// Issue 12, point 5: the end of quiet hours is the instant the location's wall clock reads the end
/// time on that date, by the zone's rules for that date, not "local midnight + 8 h" (which released
/// messages an hour late on spring-forward nights and at 07:00, inside quiet hours, on fall-back
/// nights; half an hour off at Lord Howe). Expected values are written as UTC instants.
@Suite struct QuietHoursTests {
    let denver = TimeZone(identifier: "America/Denver")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    let lordHowe = TimeZone(identifier: "Australia/Lord_Howe")!
    let evening = RoutingRules.QuietHours(startMinute: 20 * 60, endMinute: 8 * 60)

    func utc(_ s: String) -> Date { RFC3339.parse(s)! }

    func end(_ now: String, _ zone: TimeZone, _ quiet: RoutingRules.QuietHours? = nil) -> String? {
        (quiet ?? evening).end(after: utc(now), in: zone).map { RFC3339.format($0) }
    }

    struct Night: Sendable, CustomTestStringConvertible {
        var zone: String
        var what: String
        /// 21:00 local on the evening before the change, in UTC.
        var now: String
        /// 08:00 local the morning after, in UTC.
        var end: String
        /// What "midnight + 8 h" gave.
        var old: String
        var testDescription: String { "\(zone) \(what)" }
    }

    static let nights: [Night] = [
        // Denver: MST (-7) to MDT (-6) at 02:00 on 2026-03-08; back at 02:00 on 2026-11-01.
        Night(
            zone: "America/Denver", what: "spring forward", now: "2026-03-08T04:00:00Z", end: "2026-03-08T14:00:00Z",
            old: "2026-03-08T15:00:00Z"),
        Night(
            zone: "America/Denver", what: "fall back", now: "2026-11-01T03:00:00Z", end: "2026-11-01T15:00:00Z", old: "2026-11-01T14:00:00Z"
        ),
        // Berlin: CET (+1) to CEST (+2) at 02:00 on 2026-03-29; back at 03:00 on 2026-10-25.
        Night(
            zone: "Europe/Berlin", what: "spring forward", now: "2026-03-28T20:00:00Z", end: "2026-03-29T06:00:00Z",
            old: "2026-03-29T07:00:00Z"),
        Night(
            zone: "Europe/Berlin", what: "fall back", now: "2026-10-24T19:00:00Z", end: "2026-10-25T07:00:00Z", old: "2026-10-25T06:00:00Z"),
        // Lord Howe (southern hemisphere, 30-minute shift): +10:30 to +11 at 02:00 on 2026-10-04;
        // back at 02:00 (to 01:30) on 2026-04-05.
        Night(
            zone: "Australia/Lord_Howe", what: "spring forward", now: "2026-10-03T10:30:00Z", end: "2026-10-03T21:00:00Z",
            old: "2026-10-03T21:30:00Z"),
        Night(
            zone: "Australia/Lord_Howe", what: "fall back", now: "2026-04-04T10:00:00Z", end: "2026-04-04T21:30:00Z",
            old: "2026-04-04T21:00:00Z"),
    ]

    @Test(arguments: nights)
    func quietHoursEndAtEightOnTheMorningAfterAChange(_ n: Night) throws {
        let zone = try #require(TimeZone(identifier: n.zone))
        #expect(end(n.now, zone) == n.end)
        #expect(end(n.now, zone) != n.old)
        // The wall clock reads 08:00 at that instant, and 07:59 a minute before.
        let e = utc(n.end)
        #expect(LocalWallClock.local(e, in: zone).minute == 8 * 60)
        #expect(LocalWallClock.local(e.addingTimeInterval(-60), in: zone).minute == 8 * 60 - 1)
        // Five and a half hours later, after midnight: the same morning's end.
        let late = utc(n.now).addingTimeInterval(5.5 * 3600)
        #expect(evening.end(after: late, in: zone).map(RFC3339.format) == n.end)
    }

    @Test func outsideQuietHoursNothingWaits() {
        #expect(end("2026-03-08T16:00:00Z", denver) == nil)  // 10:00 MDT
        #expect(end("2026-11-01T15:00:00Z", denver) == nil)  // 08:00 MST exactly: quiet hours are over
        #expect(end("2026-11-01T14:59:00Z", denver) == "2026-11-01T15:00:00Z")
        // Quiet hours that do not cross midnight end the same day; equal start and end: none.
        let lunch = RoutingRules.QuietHours(startMinute: 12 * 60, endMinute: 13 * 60)
        #expect(end("2026-03-08T18:30:00Z", denver, lunch) == "2026-03-08T19:00:00Z")
        #expect(end("2026-03-08T18:30:00Z", denver, .init(startMinute: 600, endMinute: 600)) == nil)
    }

    /// An end time inside the spring-forward gap (02:30 does not exist in Denver on 2026-03-08): the first
    /// instant after the gap, 03:00 MDT.
    @Test func anEndInTheGapIsTheFirstInstantAfterIt() {
        let quiet = RoutingRules.QuietHours(startMinute: 22 * 60, endMinute: 2 * 60 + 30)
        #expect(end("2026-03-08T06:00:00Z", denver, quiet) == "2026-03-08T09:00:00Z")
        let gap = LocalWallClock.instant(day: LocalDate(year: 2026, month: 3, day: 8)!.daysSince1970, minuteOfDay: 150, in: denver)
        #expect(RFC3339.format(gap, in: denver) == "2026-03-08T03:00:00-06:00")
        // Lord Howe's gap is 30 minutes: 02:15 does not exist on 2026-10-04; 02:30 (+11) follows.
        let howe = LocalWallClock.instant(day: LocalDate(year: 2026, month: 10, day: 4)!.daysSince1970, minuteOfDay: 135, in: lordHowe)
        #expect(RFC3339.format(howe, in: lordHowe) == "2026-10-04T02:30:00+11:00")
    }

    /// An ambiguous end time (01:30 happens twice in Denver on 2026-11-01): the first one; but when now is
    /// already past the first (in the repeated hour), the second.
    @Test func anAmbiguousEndIsTheFirstReadingNotYetPast() {
        let quiet = RoutingRules.QuietHours(startMinute: 22 * 60, endMinute: 90)
        #expect(end("2026-11-01T05:00:00Z", denver, quiet) == "2026-11-01T07:30:00Z")  // 01:30 MDT
        let short = RoutingRules.QuietHours(startMinute: 22 * 60, endMinute: 80)
        // 01:10 MST (the second 01:10): the first 01:20 (MDT) is past, so 01:20 MST.
        #expect(end("2026-11-01T08:10:00Z", denver, short) == "2026-11-01T08:20:00Z")
        let day = LocalDate(year: 2026, month: 11, day: 1)!.daysSince1970
        #expect(RFC3339.format(LocalWallClock.instant(day: day, minuteOfDay: 90, in: denver), in: denver) == "2026-11-01T01:30:00-06:00")
        // Lord Howe's overlap is 30 minutes: 01:45 on 2026-04-05 happens at +11 and again at +10:30.
        let howe = LocalDate(year: 2026, month: 4, day: 5)!.daysSince1970
        #expect(
            RFC3339.format(LocalWallClock.instant(day: howe, minuteOfDay: 105, in: lordHowe), in: lordHowe) == "2026-04-05T01:45:00+11:00")
    }

    /// Away from changes the instant agrees with Foundation's Calendar, every day of 2026 in each zone.
    @Test func ordinaryDaysAgreeWithFoundation() {
        for zone in [denver, berlin, lordHowe, TimeZone(identifier: "Asia/Kathmandu")!] {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = zone
            let first = LocalDate(year: 2026, month: 1, day: 1)!.daysSince1970
            for d in first..<(first + 365) {
                let (y, m, dd) = civil(d)
                let expected = cal.date(from: DateComponents(year: y, month: m, day: dd, hour: 8, minute: 0))!
                #expect(LocalWallClock.instant(day: d, minuteOfDay: 480, in: zone) == expected, "\(zone.identifier) \(y)-\(m)-\(dd)")
            }
        }
    }

    func civil(_ days: Int) -> (Int, Int, Int) {
        let d = Date(timeIntervalSince1970: Double(days) * 86_400)
        var g = Calendar(identifier: .gregorian)
        g.timeZone = TimeZone(identifier: "UTC")!
        let c = g.dateComponents([.year, .month, .day], from: d)
        return (c.year!, c.month!, c.day!)
    }
}

/// Issue 12, point 6: patient-facing times carry the location's zone.
@Suite struct ZoneLabelTests {
    @Test func abbreviationsByDate() {
        let winter = at("2026-01-15 09:00", utc)
        let summer = at("2026-07-15 09:00", utc)
        let cases: [(String, String, String)] = [
            ("America/Denver", "MST", "MDT"), ("Europe/Berlin", "CET", "CEST"), ("America/New_York", "EST", "EDT"),
            ("Europe/London", "GMT", "BST"), ("America/Phoenix", "MST", "MST"),
            // No letters in the tz database: the offset (southern summer in January).
            ("Australia/Lord_Howe", "GMT+11", "GMT+10:30"), ("Asia/Kathmandu", "GMT+5:45", "GMT+5:45"),
        ]
        for (id, w, s) in cases {
            let zone = TimeZone(identifier: id)!
            #expect(ZoneAbbreviation.label(for: zone, at: Date(timeIntervalSince1970: Double(winter))) == w, "\(id)")
            #expect(ZoneAbbreviation.label(for: zone, at: Date(timeIntervalSince1970: Double(summer))) == s, "\(id)")
        }
        // Foundation may call the UTC zone GMT; either name is right.
        #expect(["UTC", "GMT"].contains(ZoneAbbreviation.label(for: utc, at: Date(timeIntervalSince1970: Double(winter)))))
    }

    @Test func theLocalTimeAPatientReads() {
        let denver = TimeZone(identifier: "America/Denver")!
        #expect(LocalTime.formatWithZone(at("2026-03-06 09:00", denver), in: denver) == "Fri Mar 6, 9:00 AM MST")
        #expect(LocalTime.formatWithZone(at("2026-03-09 09:00", denver), in: denver) == "Mon Mar 9, 9:00 AM MDT")
        let howe = TimeZone(identifier: "Australia/Lord_Howe")!
        #expect(LocalTime.formatWithZone(at("2026-12-01 09:00", howe), in: howe) == "Tue Dec 1, 9:00 AM GMT+11")
    }
}
