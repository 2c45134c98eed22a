import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// Issue 12, point 14: one column says who owns a case, `owner_id` (with `owner_kind`), as of
/// the instant asked: the newest open task's owner, else the plan's coordinator (of the version
/// in force), else the location's default coordinator, else the location queue.
///
/// Location `lq` has default coordinator coord-d, `lz` none; every case accepted 08:00Z, 2026-03-02:
///   O1 coordinator coord-p, a task for coord-t opened 10:00Z (still open)
///   O2 coordinator coord-p, a task for coord-t opened 09:00Z, resolved 11:00Z
///   O3 no coordinator (lq)        O4 no coordinator (lz)
///   O5 coordinator coord-p, accepted again at 11:30Z with coordinator coord-q
@Suite struct OwnerAttributionTests {
    static let fixture = """
        INSERT INTO organizations (id) VALUES ('org-o');
        INSERT INTO locations (id, organization_id, time_zone, default_coordinator_id) VALUES
            ('lq', 'org-o', 'UTC', 'coord-d'), ('lz', 'org-o', 'UTC', NULL);
        INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, coordinator_id, accepted_at, first_accepted_at,
                           acceptance_source, total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
        SELECT 'org-o', v.plan, v.loc, 'pat-' || v.plan, 'dr-1', v.coord, v.at::timestamptz, '2026-03-02T08:00:00Z', 'chair', 100000, '{}',
               'accepted', 'test', 'ev-' || v.plan, '2026-03-02T08:00:00Z', v.at::timestamptz
        FROM (VALUES ('O1', 'lq', 'coord-p', '2026-03-02T08:00:00Z'), ('O2', 'lq', 'coord-p', '2026-03-02T08:00:00Z'),
                     ('O3', 'lq', NULL, '2026-03-02T08:00:00Z'), ('O4', 'lz', NULL, '2026-03-02T08:00:00Z'),
                     ('O5', 'lq', 'coord-q', '2026-03-02T11:30:00Z')) AS v(plan, loc, coord, at);
        -- The acceptances as the classifier records them (O5's second one names a new coordinator).
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at, detail)
        SELECT 'org-o', v.plan, v.loc, 'accepted', v.at::timestamptz, v.at::timestamptz,
               jsonb_build_object('total_fee_cents', 100000, 'coordinator_id', v.coord)
        FROM (VALUES ('O1', 'lq', 'coord-p', '2026-03-02T08:00:00Z'), ('O2', 'lq', 'coord-p', '2026-03-02T08:00:00Z'),
                     ('O3', 'lq', NULL, '2026-03-02T08:00:00Z'), ('O4', 'lz', NULL, '2026-03-02T08:00:00Z'),
                     ('O5', 'lq', 'coord-p', '2026-03-02T08:00:00Z'), ('O5', 'lq', 'coord-q', '2026-03-02T11:30:00Z')) AS v(plan, loc, coord, at);
        INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, status, outcome, created_at, resolved_at)
        VALUES ('org-o', 'O1', 'lq', 'coord-t', 'callback', false, 'no channel', 'open', NULL, '2026-03-02T10:00:00Z', NULL),
               ('org-o', 'O2', 'lq', 'coord-t', 'callback', false, 'no channel', 'resolved', 'no_answer', '2026-03-02T09:00:00Z',
                '2026-03-02T11:00:00Z');
        """

    static func owners(_ conn: PostgresConnection, at time: String) async throws -> [String] {
        try await AnalyticsTests.lines(
            conn, "SELECT plan_id, owner_id, owner_kind FROM analytics_plan_facts($1) ORDER BY plan_id", RFC3339.parse(time)!)
    }

    @Test func theOwnerIsTheOpenTasksElseThePlansCoordinatorElseTheLocationsDefault() async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "owner"), logger: testLogger)
        defer { conn.close() }
        try await conn.simpleQuery(Self.fixture)

        #expect(
            try await Self.owners(conn, at: "2026-03-02T12:00:00Z") == [
                "O1|coord-t|task",
                // Its task was resolved at 11:00: back to the plan's coordinator.
                "O2|coord-p|coordinator",
                "O3|coord-d|location_default",
                "O4|location:lz|unassigned",
                "O5|coord-q|coordinator",
            ])
        // At 10:30 O2's task is open and O1's too; O5 is still coord-p's (the new acceptance is later).
        #expect(
            try await Self.owners(conn, at: "2026-03-02T10:30:00Z") == [
                "O1|coord-t|task", "O2|coord-t|task", "O3|coord-d|location_default", "O4|location:lz|unassigned",
                "O5|coord-p|coordinator",
            ])
        // Before any task.
        #expect(try await Self.owners(conn, at: "2026-03-02T08:30:00Z").prefix(2) == ["O1|coord-p|coordinator", "O2|coord-p|coordinator"])

        // The unscheduled worklist carries the same owner, and the per-owner report groups by it.
        let noon = RFC3339.parse("2026-03-02T12:00:00Z")!
        #expect(
            try await AnalyticsTests.lines(
                conn, "SELECT plan_id, owner_id, owner_kind, open_tasks FROM analytics_unscheduled_cases($1) ORDER BY plan_id", noon) == [
                    "O1|coord-t|task|1", "O2|coord-p|coordinator|0", "O3|coord-d|location_default|0", "O4|location:lz|unassigned|0",
                    "O5|coord-q|coordinator|0",
                ])
        #expect(
            try await AnalyticsTests.lines(
                conn,
                """
                SELECT owner_id, owner_kind, cases, value_cents, cases_with_open_task, oldest_age_days, locations
                FROM analytics_unscheduled_by_owner($1) ORDER BY owner_id
                """, noon) == [
                    "coord-d|location_default|1|100000|0|0|{lq}", "coord-p|coordinator|1|100000|0|0|{lq}",
                    "coord-q|coordinator|1|100000|0|0|{lq}", "coord-t|task|1|100000|1|0|{lq}", "location:lz|unassigned|1|100000|0|0|{lz}",
                ])
    }
}
