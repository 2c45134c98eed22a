import Foundation
import PlanRouterCore
import PlanRouterKafka
import Testing

@testable import PlanRouterWorkers

/// `visit` on a plan.accepted waives the deposit and names a parent plan: only PlanRouter's own
/// follow-ups (source `planrouter/visits`) may carry it; from a connector it is dead-lettered.
@Suite struct ForeignVisitTests {
    @Test func aConnectorsAcceptanceCarryingVisitIsDeadLetteredWithItsReason() async throws {
        let h = try await PipelineHarness(partitions: 1)
        var forged = TestEvents.accepted(plan: "forged", codes: [("D6065", 180_000)]).objectValue!
        var d = forged["data"]!.objectValue!
        d["visit"] = FollowUpVisit(parentPlanID: "tp-1", number: 2, of: 2, kind: .staged).json
        forged["data"] = .object(d)
        try await h.publish(events: [.object(forged), TestEvents.accepted(plan: "honest", codes: [("D6065", 180_000)])])

        let classifier = try h.classifier()
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await relay.run() }]
        try await eventually("both consumed") { classifier.stats.applied + classifier.stats.deadLettered == 2 }
        #expect(classifier.stats.deadLettered == 1)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'forged'") == 0)
        #expect(try await h.count("SELECT count(*) FROM classifications WHERE plan_id = 'honest' AND deposit_cents > 0") == 1)
        let letters = try await h.consumeAll(topic: h.topics[.planAccepted] + ".dlq", expected: 1)
        let headers = Dictionary(letters[0].headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }) { a, _ in a }
        #expect(headers["dlq.kind"] == "invalid_data")
        #expect(headers["dlq.reason"] == "/data/visit: set only by PlanRouter (source planrouter/visits), not by opendental/loc-12")
        for r in runs { await r.stop() }
        await h.close()
    }
}
