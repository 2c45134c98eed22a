import Foundation
import PlanRouterCore
import Testing

/// The PMS's SMS consent (`plan.accepted` `patient.sms_consent`) applied to the suppression list.
@Suite struct PMSConsentTests {
    /// An acceptance of `plan` whose patient has `consent`, accepted at `at`.
    static func accepted(plan: String, consent: Bool, at: String) -> JSONValue {
        guard case .object(var envelope) = TestEvents.accepted(plan: plan, acceptedAt: at),
            case .object(var data) = envelope["data"] ?? .null, case .object(var patient) = data["patient"] ?? .null
        else { return .null }
        patient["sms_consent"] = .bool(consent)
        data["patient"] = .object(patient)
        envelope["data"] = .object(data)
        return .object(envelope)
    }

    static let suppressions = "SELECT count(*) FROM sms_suppressions WHERE organization_id = 'org-1' AND phone = '+15555550123'"

    @Test func aRevokedConsentSuppressesTheNumberAndAGivenOneLiftsOnlyThePMSSuppression() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let clock = ManualClock(RFC3339.parse("2026-11-30T16:00:00Z")!)
        let classifier = try h.classifier(clock: clock)
        let run = Running { try await classifier.run() }
        try await h.publish(events: [Self.accepted(plan: "c1", consent: false, at: "2026-11-30T10:15:00-05:00")])
        try await eventually("no consent: suppressed") { try await h.count(Self.suppressions + " AND keyword = 'PMS_CONSENT'") == 1 }

        // Consent given in the PMS later (a newer acceptance): the PMS's suppression is lifted.
        try await h.publish(events: [Self.accepted(plan: "c1", consent: true, at: "2026-11-30T10:20:00-05:00")])
        try await eventually("consent: lifted") { try await h.count(Self.suppressions) == 0 }

        // A STOP texted by the patient stands whatever the PMS says.
        try await h.pool.withConnection { c in
            _ = try await c.execute(
                "INSERT INTO sms_suppressions (organization_id, phone, keyword, opted_out_at) VALUES ('org-1', '+15555550123', 'STOP', now())"
            )
        }
        try await h.publish(events: [Self.accepted(plan: "c2", consent: true, at: "2026-11-30T10:25:00-05:00")])
        try await eventually("second plan stored") { try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'c2'") == 1 }
        #expect(try await h.count(Self.suppressions + " AND keyword = 'STOP'") == 1)
        await run.stop()
        await h.close()
    }

    /// One batch states the same number twice (two plans of one patient): the later statement wins,
    /// as it would applied one at a time, in either order.
    @Test func withinOneBatchTheLaterStatementOfANumbersConsentWins() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let clock = ManualClock(RFC3339.parse("2026-11-30T16:00:00Z")!)
        try await h.publish(events: [
            Self.accepted(plan: "a1", consent: false, at: "2026-11-30T10:15:00-05:00"),
            Self.accepted(plan: "a2", consent: true, at: "2026-11-30T10:16:00-05:00"),
        ])
        let classifier = try h.classifier(clock: clock)
        var run = Running { try await classifier.run() }
        try await eventually("both plans stored") { try await h.count("SELECT count(*) FROM plans WHERE plan_id IN ('a1', 'a2')") == 2 }
        #expect(try await h.count(Self.suppressions) == 0)
        await run.stop()

        try await h.publish(events: [
            Self.accepted(plan: "b1", consent: true, at: "2026-11-30T10:17:00-05:00"),
            Self.accepted(plan: "b2", consent: false, at: "2026-11-30T10:18:00-05:00"),
        ])
        let again = try h.classifier(clock: clock)
        run = Running { try await again.run() }
        try await eventually("both plans stored") { try await h.count("SELECT count(*) FROM plans WHERE plan_id IN ('b1', 'b2')") == 2 }
        #expect(try await h.count(Self.suppressions + " AND keyword = 'PMS_CONSENT'") == 1)
        await run.stop()
        await h.close()
    }
}
