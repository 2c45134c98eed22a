import Foundation
import PlanRouterCore
import Testing

@testable import PlanRouterWorkers

/// A plan accepted again replaces its waiting later visits; a plan seen for the first time has none
/// to replace, so the classifier deletes waiting visits only of plans an acceptance replaced.
@Suite struct ReacceptedVisitTests {
    static let surgery: JSONValue = .object([
        "code": "D6010", "description": "Surgical placement of implant body: endosteal implant", "tooth": "30", "fee_cents": 240_000,
        "provider_role": "oral_surgeon",
    ])
    static let crown: JSONValue = .object([
        "code": "D6065", "description": "Implant supported porcelain/ceramic crown", "tooth": "30", "fee_cents": 180_000,
    ])

    static func acceptance(plan: String, procedures: [JSONValue], acceptedAt: String) -> JSONValue {
        var e = TestEvents.acceptedWith(plan: plan, codes: [], acceptedAt: acceptedAt).objectValue!
        var d = e["data"]!.objectValue!
        d["procedures"] = .array(procedures)
        d["total_fee_cents"] = .int(Int64(procedures.compactMap { $0["fee_cents"]?.intValue }.reduce(0, +)))
        e["data"] = .object(d)
        return .object(e)
    }

    func waitingVisits(_ h: PipelineHarness, plan: String) async throws -> Int {
        try await h.count("SELECT count(*) FROM plan_visits WHERE plan_id = '\(plan)' AND status = 'waiting'")
    }

    @Test func aNewerAcceptanceWithoutTheCrownDropsItsWaitingVisitAndANewPlanKeepsItsOwn() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let classifier = try h.classifier()
        let run = Running { try await classifier.run() }

        // The implant and its crown: the crown waits as visit 2.
        try await h.publish(events: [
            Self.acceptance(plan: "implant", procedures: [Self.surgery, Self.crown], acceptedAt: "2026-12-01T14:29:00Z")
        ])
        try await eventually("first acceptance classified") { classifier.stats.applied == 1 }
        #expect(try await waitingVisits(h, plan: "implant") == 1)

        // Published together (one batch, or two if the poll splits them; both must hold): the plan
        // accepted again without the crown (it replaces the stored plan), and a plan seen for the
        // first time with a crown of its own.
        try await h.publish(events: [
            Self.acceptance(plan: "implant", procedures: [Self.surgery], acceptedAt: "2026-12-01T14:35:00Z"),
            Self.acceptance(plan: "implant-2", procedures: [Self.surgery, Self.crown], acceptedAt: "2026-12-01T14:36:00Z"),
        ])
        try await eventually("both classified") { classifier.stats.applied == 3 }
        #expect(try await waitingVisits(h, plan: "implant") == 0)
        #expect(try await waitingVisits(h, plan: "implant-2") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_procedures WHERE plan_id = 'implant'") == 1)

        // An older acceptance arriving late changes nothing: the plan keeps no waiting visit.
        try await h.publish(events: [
            Self.acceptance(plan: "implant", procedures: [Self.surgery, Self.crown], acceptedAt: "2026-12-01T14:30:00Z")
        ])
        try await eventually("late acceptance recorded") { classifier.stats.applied == 4 }
        #expect(try await waitingVisits(h, plan: "implant") == 0)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind = 'accepted_stale'") == 1)

        await run.stop()
        await h.close()
    }
}
