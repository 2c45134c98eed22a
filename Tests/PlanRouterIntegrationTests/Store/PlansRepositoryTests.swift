import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// `PlansRepository.transition` is the one statement that changes a case's status: it
/// changes only rows whose current status is an allowed predecessor of the target.
@Suite struct PlansRepositoryTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    func withPlans(_ statuses: [String: CaseStatus], _ body: (PostgresConnection) async throws -> Void) async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "plans"), logger: testLogger)
        defer { conn.close() }
        try await LocationsRepository.ensure(LocationKey(organizationID: "org-1", locationID: "loc-1"), on: conn)
        for (plan, status) in statuses {
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', $1, 'loc-1', 'pat-1', 'prov-1', $2, 'chair', 1000, '{}', $3, 'test', 'e-' || $1, $2, $2)
                """, plan, Self.now, status.rawValue)
        }
        try await body(conn)
    }

    func status(_ plan: String, _ conn: PostgresConnection) async throws -> String {
        try await conn.query("SELECT status FROM plans WHERE organization_id = 'org-1' AND plan_id = $1", plan)[0].decode(
            0, as: String.self)
    }

    func key(_ plan: String) -> PlanKey { PlanKey(organizationID: "org-1", planID: plan) }

    @Test func allowedTransitionsChangeTheRowAndDisallowedOnesDoNot() async throws {
        try await withPlans(["a": .accepted, "b": .declined, "c": .booked, "d": .offered]) { conn in
            let changed = try await PlansRepository.transition(
                [(key("a"), .offered), (key("b"), .offered), (key("c"), .escalated), (key("d"), .escalated)], now: Self.now, on: conn)
            #expect(Set(changed.map(\.key.planID)) == ["a", "c", "d"])
            #expect(try await status("a", conn) == "offered")
            #expect(try await status("b", conn) == "declined")  // declined -> offered is not in the table
            #expect(try await status("c", conn) == "escalated")
            #expect(try await status("d", conn) == "escalated")
        }
    }

    @Test func fromNarrowsThePredecessors() async throws {
        try await withPlans(["a": .accepted, "o": .offered]) { conn in
            // accepted -> escalated is allowed, but the ladder escalates only offered cases.
            let changed = try await PlansRepository.transition(
                [(key("a"), .escalated), (key("o"), .escalated)], from: [.offered], now: Self.now, on: conn)
            #expect(changed.map(\.key.planID) == ["o"])
            #expect(try await status("a", conn) == "accepted")
        }
    }

    @Test func anExpectedTransitionThatIsNotAllowedThrows() async throws {
        try await withPlans(["x": .cancelled]) { conn in
            await #expect(throws: CaseTransitionError(from: nil, to: .booked)) {
                try await PlansRepository.transitionExpected(key("x"), to: .booked, now: Self.now, on: conn)
            }
            #expect(try await status("x", conn) == "cancelled")
            let booked = try await conn.query("SELECT count(*) FROM plans WHERE status = 'booked'")[0].decode(0, as: Int.self)
            #expect(booked == 0)
        }
    }
}
