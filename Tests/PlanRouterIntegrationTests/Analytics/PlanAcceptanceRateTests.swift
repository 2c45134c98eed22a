import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// plan.presented through the real classifier worker into `presented_plans`, and the acceptance
/// rate (`analytics_plan_acceptance`) by location and tier, as of two instants.
@Suite struct PlanAcceptanceRateTests {
    static func presented(
        plan: String, location: String = "loc-12", codes: [(String, Int64)], at: String, id: String = UUID().uuidString
    )
        -> JSONValue
    {
        let data = PlanPresented(
            organizationID: "org-1", locationID: location, planID: plan, presentedAt: RFC3339.parse(at)!, patientID: "pat-\(plan)",
            providerID: "prov-3",
            procedures: codes.map { PlanProcedure(code: $0.0, description: "test procedure", feeCents: $0.1) },
            totalFeeCents: codes.map(\.1).reduce(0, +)
        ).data
        return .object([
            "specversion": "1.0", "id": .string(id), "source": .string("opendental/\(location)"), "type": "planrouter.plan.presented.v1",
            "time": .string(at), "subject": .string(plan), "data": data,
        ])
    }

    struct Rate: Equatable {
        var presented: Int64
        var accepted: Int64
        var pct: String?
    }

    func rate(_ h: PipelineHarness, level: String, location: String? = nil, tier: String? = nil, asOf: String) async throws -> Rate? {
        try await h.pool.withConnection { conn in
            let rows = try await conn.query(
                """
                SELECT presented_plans, accepted_plans, acceptance_pct::text FROM analytics_plan_acceptance('2026-11-01', '2026-11-30', $1::timestamptz)
                WHERE level = $2 AND location_id IS NOT DISTINCT FROM $3 AND tier IS NOT DISTINCT FROM $4
                """, asOf, level, location, tier)
            return try rows.first.map {
                Rate(
                    presented: try $0.decode(0, as: Int64.self), accepted: try $0.decode(1, as: Int64.self),
                    pct: try $0.decode(2, as: String?.self))
            }
        }
    }

    @Test func theRateCountsPresentedPlansOnceAndAcceptancesUpToTheInstant() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let first = Self.presented(plan: "implant", codes: [("D6010", 420_000)], at: "2026-11-10T15:00:00Z")
        try await h.publish(
            events: [
                first, first,  // a redelivery: one presentation
                Self.presented(plan: "implant", codes: [("D6010", 420_000)], at: "2026-11-12T15:00:00Z"),  // shown again: counted once
                Self.presented(plan: "crown", codes: [("D2740", 135_000)], at: "2026-11-10T16:00:00Z"),
                Self.presented(plan: "crown-2", codes: [("D2740", 135_000)], at: "2026-11-11T16:00:00Z"),
                Self.presented(plan: "botox", location: "loc-7", codes: [("D9972", 45_000)], at: "2026-11-11T17:00:00Z"),
            ], topic: h.topics[.planPresented])
        try await h.publish(events: [
            TestEvents.accepted(plan: "implant", codes: [("D6010", 420_000)], acceptedAt: "2026-11-12T15:05:00Z"),
            TestEvents.accepted(plan: "crown", codes: [("D2740", 135_000)], acceptedAt: "2026-11-20T10:00:00Z"),
            TestEvents.accepted(plan: "walk-in", codes: [("D2740", 135_000)], acceptedAt: "2026-11-12T10:00:00Z"),  // never presented
        ])
        let classifier = try h.classifier()
        let run = Running { try await classifier.run() }
        try await eventually("recorded") {
            let presented = try await h.count("SELECT count(*) FROM presented_plans")
            let plans = try await h.count("SELECT count(*) FROM plans")
            return presented == 4 && plans == 3
        }
        await run.stop()
        #expect(
            try await h.count(
                "SELECT count(*) FROM presented_plans WHERE plan_id = 'implant' AND first_presented_at = '2026-11-10T15:00:00Z' AND last_presented_at = '2026-11-12T15:00:00Z'"
            ) == 1)
        #expect(try await h.count("SELECT count(*) FROM presented_plans WHERE tier = 'surgical'") == 1)

        // Before the crown's acceptance: 1 of 4 presented plans accepted; the walk-in is not in the rate.
        let before = "2026-11-15T00:00:00Z"
        #expect(try await rate(h, level: "all", asOf: before) == Rate(presented: 4, accepted: 1, pct: "25.00"))
        #expect(try await rate(h, level: "tier", tier: "surgical", asOf: before) == Rate(presented: 1, accepted: 1, pct: "100.00"))
        let after = "2026-11-30T12:00:00Z"
        #expect(try await rate(h, level: "all", asOf: after) == Rate(presented: 4, accepted: 2, pct: "50.00"))
        #expect(try await rate(h, level: "tier", tier: "restorative", asOf: after) == Rate(presented: 2, accepted: 1, pct: "50.00"))
        // The report for the earlier instant is the same when run again after the later acceptance.
        #expect(try await rate(h, level: "all", asOf: before) == Rate(presented: 4, accepted: 1, pct: "25.00"))
        // Before any presentation nothing is counted (the grand total row is there, with no rate).
        #expect(try await rate(h, level: "all", asOf: "2026-11-10T14:00:00Z") == Rate(presented: 0, accepted: 0, pct: nil))
        // The report carries the rate beside the benchmarks, per tier and overall.
        let report = try await h.pool.withConnection { conn in
            try await AnalyticsReport.load(
                on: conn, organization: "org-1", from: PostgresDate(year: 2026, month: 11, day: 1),
                to: PostgresDate(year: 2026, month: 11, day: 30), asOf: RFC3339.parse(after)!)
        }
        #expect(report.total.presentedPlans == 4 && report.total.presentedAccepted == 2 && report.total.acceptancePercent == 50)
        #expect(report.tiers.first { $0.tier == "aesthetic" }?.presentedPlans == 1)  // presented only: a row of its own
        #expect(report.table().contains("50.00% (2/4)"))
        // presented_plans, presented_accepted, acceptance_pct, then the deposit and follow-up columns (none here).
        #expect(report.csv().split(separator: "\n")[1].hasSuffix(",4,2,50,0,0,,0,0,"))
        await h.close()
    }
}
