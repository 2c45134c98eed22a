import Foundation
import PlanRouterCore
import Testing

@testable import PlanRouterStaff

/// The workspace's pure formatting and chart geometry.
@Suite struct WorkspaceFormatTests {
    @Test func moneyHasThousandsSeparatorsAndCents() {
        #expect(WorkspaceFormat.dollars(0) == "$0.00")
        #expect(WorkspaceFormat.dollars(98_000) == "$980.00")
        #expect(WorkspaceFormat.dollars(245_005) == "$2,450.05")
        #expect(WorkspaceFormat.dollars(123_456_789) == "$1,234,567.89")
        #expect(WorkspaceFormat.dollars(-1_050) == "-$10.50")
        #expect(WorkspaceFormat.dollars(nil) == "—")
    }

    @Test func agingColoursChangeAtOneAndThreeDays() {
        #expect(WorkspaceFormat.agingClass(hours: 0) == "fresh")
        #expect(WorkspaceFormat.agingClass(hours: 23.9) == "fresh")
        #expect(WorkspaceFormat.agingClass(hours: 24) == "aging")
        #expect(WorkspaceFormat.agingClass(hours: 71.9) == "aging")
        #expect(WorkspaceFormat.agingClass(hours: 72) == "old")
    }

    @Test func snoozeTimesAreReadInTheLocationsZone() throws {
        let newYork = try #require(TimeZone(identifier: "America/New_York"))
        let parsed = try #require(WorkspaceFormat.parseLocal("2026-12-02T09:30", timeZone: newYork))
        #expect(parsed == Date(timeIntervalSince1970: 1_796_221_800))
        #expect(WorkspaceFormat.inputLocal(parsed, newYork) == "2026-12-02T09:30")
        #expect(WorkspaceFormat.parseLocal("tomorrow", timeZone: newYork) == nil)
    }

    @Test func theChartHasASlotPerBucketAndScalesToTheLargest() {
        #expect(AgingChart([]).bars.isEmpty)
        let chart = AgingChart([(bucket: "0-2 days", cases: 4, cents: 1), (bucket: "8-14 days", cases: 2, cents: 1)])
        #expect(chart.bars.map { $0["bucket"] as? String } == AgingChart.buckets)
        let heights = chart.bars.compactMap { $0["height"] as? Int }
        #expect(heights == [AgingChart.height - 50, 0, (AgingChart.height - 50) / 2, 0, 0])
    }

    @Test func auditEntriesReadAsSentences() {
        #expect(WorkspaceFormat.auditPhrase("reassign_task", detail: .object(["owner_after": "omar"])) == "reassigned the task to omar")
        #expect(WorkspaceFormat.auditPhrase("resolve_task", detail: .object(["outcome": "declined"])) == "resolved the task (declined)")
        #expect(
            WorkspaceFormat.auditPhrase("record_attempt", detail: .object(["channel": "call", "outcome": "no_answer"]))
                == "recorded a call attempt (no answer)")
    }
}
