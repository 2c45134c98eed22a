import Foundation
import PlanRouterCore
import Testing

@Suite struct LocalTimestampTests {
    let newYork = TimeZone(identifier: "America/New_York")!

    @Test func parsesAndPrintsOpenDentalsFormat() throws {
        let t = try #require(LocalTimestamp("2022-07-02 09:39:54"))
        #expect(t.description == "2022-07-02 09:39:54")
        #expect(t.dateText == "2022-07-02")
        #expect(LocalTimestamp("2022-07-02T09:39:54") == nil)
        #expect(LocalTimestamp("2022-13-02 09:39:54") == nil)
        #expect(try #require(LocalTimestamp("0001-01-01 00:00:00")).isUnset)
        #expect(try #require(LocalTimestamp("2022-07-02")).description == "2022-07-02 00:00:00")
    }

    @Test func convertsWithTheOfficeZone() throws {
        let t = try #require(LocalTimestamp("2026-12-01 08:00:00"))
        #expect(RFC3339.format(t.instant(in: newYork)) == "2026-12-01T13:00:00Z")
        #expect(LocalTimestamp(RFC3339.parse("2026-07-01T12:00:00Z")!, in: newYork).description == "2026-07-01 08:00:00")
    }

    /// 2026-11-01 01:30 happens twice in New York: the earlier instant (EDT) is chosen.
    @Test func aFallBackFoldReadsAsTheEarlierInstant() throws {
        let t = try #require(LocalTimestamp("2026-11-01 01:30:00"))
        #expect(RFC3339.format(t.instant(in: newYork)) == "2026-11-01T05:30:00Z")
        // Both instants print the same wall time: what Open Dental stores.
        #expect(LocalTimestamp(RFC3339.parse("2026-11-01T06:30:00Z")!, in: newYork) == t)
    }

    /// 2026-03-08 02:30 does not exist in New York: it reads as just after the gap.
    @Test func aSpringForwardGapReadsAfterTheGap() throws {
        let t = try #require(LocalTimestamp("2026-03-08 02:30:00"))
        #expect(RFC3339.format(t.instant(in: newYork)) == "2026-03-08T07:30:00Z")
    }

    @Test func shiftsAndComparesAsWritten() throws {
        let t = try #require(LocalTimestamp("2026-11-01 00:10:00"))
        #expect(t.adding(seconds: -3600).description == "2026-10-31 23:10:00")
        #expect(try #require(LocalTimestamp("2026-11-01 01:10:00")) < (try #require(LocalTimestamp("2026-11-01 01:50:00"))))
    }
}
