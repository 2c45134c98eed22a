import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Issue 12, point 13: a report as of an instant T gives the same output whenever it is run.
/// The classifier, the offer worker and the lifecycle consumer are applied straight in
/// transactions (as the consumer loop applies a batch) to a fresh database; the report is
/// `AnalyticsReport` (what `planrouter report --as-of` prints) plus the analytics functions.
///
/// New York, Tuesday 2026-12-01 (EST, UTC-5). Before T = 15:00Z five cases are accepted:
///   P1 14:05Z, P2 14:10Z (coordinator coord-7), P3 14:15Z, P5 14:20Z, P6 14:25Z, each $1,350 and offered.
/// After T: P1 declined (16:00Z), P2 modified to $2,000 (16:10Z), P3 booked in the PMS (16:20Z),
/// P4 accepted (16:30Z), P5 accepted again at $990 (16:40Z), and P6's decline dated 14:50Z
/// (before T) arrives at 16:50Z: not known at T, so not part of a report as of T.
@Suite struct AsOfReproducibilityTests {
    typealias Desk = OfferedOpeningsStayRealTests.Desk

    static let asOf = RFC3339.parse("2026-12-01T15:00:00Z")!
    static let day = PostgresDate(year: 2026, month: 12, day: 1)
    static let crown: [(String, Int64)] = [("D2740", 135_000)]

    static func at(_ s: String) -> Date { RFC3339.parse(s)! }

    /// Everything an as-of report shows: the report in its three formats and every row of the
    /// per-case analytics functions, as text.
    static func snapshot(_ d: Desk, asOf: Date) async throws -> [String] {
        try await d.pool.withConnection { conn in
            let r = try await AnalyticsReport.load(on: conn, organization: "org-1", from: Self.day, to: Self.day, asOf: asOf)
            var out = [r.table(), r.csv(), r.json()]
            for sql in [
                "SELECT * FROM analytics_plan_facts($1) ORDER BY plan_id",
                "SELECT * FROM analytics_unscheduled_cases($1) ORDER BY plan_id",
                "SELECT * FROM analytics_unscheduled_aging($1) ORDER BY location_id, age_bucket_order",
                "SELECT * FROM analytics_open_tasks($1) ORDER BY id",
                "SELECT * FROM analytics_escalation_outcomes('2026-12-01', '2026-12-01', $1) ORDER BY 1, 2, 3, 4, 5",
                "SELECT * FROM analytics_benchmarks('2026-12-01', '2026-12-01', $1) ORDER BY 1, 2, 3, 4, 5",
            ] {
                out += try await AnalyticsTests.lines(conn, sql, asOf)
            }
            return out
        }
    }

    /// A plan.changed `modified` with its new procedures and fee.
    static func modified(plan: String, changedAt: String, codes: [(String, Int64)]) -> JSONValue {
        var e = TestEvents.planChanged(plan: plan, change: "modified", changedAt: changedAt).objectValue!
        var data = e["data"]!.objectValue!
        data["procedures"] = .array(
            codes.map { .object(["code": .string($0.0), "description": "test procedure", "fee_cents": .int($0.1)]) })
        data["total_fee_cents"] = .int(codes.map(\.1).reduce(0, +))
        e["data"] = .object(data)
        return .object(e)
    }

    @Test func aReportAsOfAPastInstantIsTheSameAfterLaterEvents() async throws {
        let d = try await Desk()
        let lifecycle = LifecycleHandler(consumerName: "escalation")
        try await d.apply(d.offer, [TestEvents.schedule()], now: Self.at("2026-12-01T14:00:00Z"))
        for (plan, accepted, coordinator) in [
            ("P1", "2026-12-01T14:05:00Z", nil), ("P2", "2026-12-01T14:10:00Z", "coord-7"), ("P3", "2026-12-01T14:15:00Z", nil),
            ("P5", "2026-12-01T14:20:00Z", nil), ("P6", "2026-12-01T14:25:00Z", nil),
        ] {
            try await d.accept(
                TestEvents.acceptedWith(plan: plan, codes: Self.crown, acceptedAt: accepted, coordinator: coordinator),
                now: Self.at(accepted).addingTimeInterval(60))
        }

        let before = try await Self.snapshot(d, asOf: Self.asOf)
        let r = try await d.pool.withConnection { conn in
            try await AnalyticsReport.load(on: conn, organization: "org-1", from: Self.day, to: Self.day, asOf: Self.asOf)
        }
        #expect(r.total.acceptedCases == 5 && r.total.acceptedCents == 675_000 && r.total.unscheduledCases == 5)

        // Later events, each applied by the worker that applies it in production.
        try await d.apply(
            lifecycle, [TestEvents.planChanged(plan: "P1", change: "declined", changedAt: "2026-12-01T16:00:00Z")],
            now: Self.at("2026-12-01T16:00:30Z"))
        try await d.accept(
            Self.modified(plan: "P2", changedAt: "2026-12-01T16:10:00Z", codes: [("D2740", 120_000), ("D2950", 80_000)]),
            now: Self.at("2026-12-01T16:10:30Z"))
        try await d.apply(
            lifecycle, [TestEvents.appointment(id: "apt-3", plan: "P3", changedAt: "2026-12-01T16:20:00Z")],
            now: Self.at("2026-12-01T16:20:30Z"))
        try await d.accept(
            TestEvents.acceptedWith(plan: "P4", codes: Self.crown, acceptedAt: "2026-12-01T16:30:00Z"), now: Self.at("2026-12-01T16:30:30Z")
        )
        try await d.accept(
            TestEvents.acceptedWith(plan: "P5", codes: [("D2740", 99000)], acceptedAt: "2026-12-01T16:40:00Z"),
            now: Self.at("2026-12-01T16:40:30Z"))
        try await d.apply(
            lifecycle, [TestEvents.planChanged(plan: "P6", change: "declined", changedAt: "2026-12-01T14:50:00Z")],
            now: Self.at("2026-12-01T16:50:00Z"))

        let after = try await Self.snapshot(d, asOf: Self.asOf)
        #expect(after.count == before.count)
        for (i, (b, a)) in zip(before, after).enumerated() where a != b {
            Issue.record("as-of output \(i) changed after later events:\nbefore: \(b)\nafter:  \(a)")
        }

        // As of later, the same cases show every later event.
        let later = Self.at("2026-12-01T17:00:00Z")
        let now = try await d.pool.withConnection { conn in
            try await AnalyticsReport.load(on: conn, organization: "org-1", from: Self.day, to: Self.day, asOf: later)
        }
        // P1 $1,350 + P2 $2,000 + P3 $1,350 + P4 $1,350 + P5 $990 + P6 $1,350.
        #expect(now.total.acceptedCases == 6 && now.total.acceptedCents == 839_000)
        #expect(now.total.closedCases == 2 && now.total.closedCents == 270_000)
        #expect(now.total.scheduledCases == 1 && now.total.bookedCases == 1 && now.total.scheduledCents == 135_000)
        #expect(now.total.unscheduledCases == 3 && now.total.unscheduledCents == 434_000)
        // Booked 16:20Z, accepted 14:15Z: 7,500 s.
        #expect(now.total.bookingP50Seconds == 7500)
        let facts = try await d.pool.withConnection { conn in
            try await AnalyticsTests.lines(
                conn,
                """
                SELECT plan_id, status, outcome, to_char(accepted_at AT TIME ZONE 'UTC', 'HH24:MI'),
                       to_char(version_accepted_at AT TIME ZONE 'UTC', 'HH24:MI'), value_cents, coordinator_id, owner_id, owner_kind
                FROM analytics_plan_facts($1) ORDER BY plan_id
                """, later)
        }
        #expect(
            facts == [
                "P1|declined|closed|14:05|14:05|135000|null|location:loc-12|unassigned",
                // The modification keeps the first acceptance time and brings the new fee.
                "P2|offered|unscheduled|14:10|16:10|200000|coord-7|coord-7|coordinator",
                "P3|booked|scheduled|14:15|14:15|135000|null|location:loc-12|unassigned",
                "P4|offered|unscheduled|16:30|16:30|135000|null|location:loc-12|unassigned",
                // Accepted again: still a case since its first acceptance.
                "P5|offered|unscheduled|14:20|16:40|99000|null|location:loc-12|unassigned",
                "P6|declined|closed|14:25|14:25|135000|null|location:loc-12|unassigned",
            ])
        await d.close()
    }
}
