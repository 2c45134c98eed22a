import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// Retention: closed cases past the age lose their contact details; open and recent ones keep
/// them; the case's facts and analytics do not change; a second run changes nothing.
@Suite struct RetentionTests {
    @Test func closedCasesPastTheAgeLoseTheirContactDetailsAndNothingElse() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.pool.withConnection { conn in
            try await conn.simpleQuery(
                """
                INSERT INTO organizations (id) VALUES ('org-1');
                INSERT INTO locations (organization_id, id, time_zone) VALUES ('org-1', 'loc-12', 'America/New_York');
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                SELECT 'org-1', v.plan, 'loc-12', 'pat-' || v.plan, 'prov-3', v.at, 'chair', 135000,
                       jsonb_build_object('id', 'pat-' || v.plan, 'first_name', 'Quillonzeb', 'phone', '+15555550917',
                                          'email', 'q@example.com', 'sms_consent', true),
                       v.status, 'test', 'evt-' || v.plan, v.at, v.at
                FROM (VALUES ('old-booked', 'booked', '2024-01-10T15:00:00Z'::timestamptz),
                             ('old-declined', 'declined', '2024-01-10T15:00:00Z'),
                             ('old-open', 'escalated', '2024-01-10T15:00:00Z'),
                             ('recent-booked', 'booked', '2026-11-20T15:00:00Z')) AS v(plan, status, at);
                INSERT INTO message_deliveries (organization_id, message_id, event_source, event_id, plan_id, location_id, patient_id,
                                                kind, channel, recipient, subject, body, status, send_after, next_attempt_at,
                                                created_at, updated_at)
                SELECT 'org-1', 'msg-' || plan_id, 'test', 'evt-msg-' || plan_id, plan_id, 'loc-12', patient_id, 'offer', 'sms',
                       '+15555550917', NULL, 'Hi Quillonzeb', 'delivered', updated_at, updated_at, updated_at, updated_at
                FROM plans;
                """)
        }
        let now = RFC3339.parse("2026-11-29T12:00:00Z")!
        let cutoff = now.addingTimeInterval(-730 * 86_400)
        let facts = "SELECT count(*) FROM plans WHERE total_fee_cents = 135000 AND patient_id LIKE 'pat-%'"
        #expect(try await h.count(facts) == 4)

        let first = try await h.pool.withTransaction {
            try await RetentionRepository.anonymiseClosedCases(before: cutoff, now: now, limit: 1, on: $0)
        }
        let rest = try await h.pool.withTransaction {
            try await RetentionRepository.anonymiseClosedCases(before: cutoff, now: now, limit: 100, on: $0)
        }
        #expect(first == 1 && rest == 1)  // batches: the two old closed cases, one at a time
        let again = try await h.pool.withTransaction {
            try await RetentionRepository.anonymiseClosedCases(before: cutoff, now: now, limit: 100, on: $0)
        }
        #expect(again == 0)

        let anonymised = try await h.pool.withConnection { conn in
            try await conn.query("SELECT plan_id FROM plans WHERE NOT (patient::text LIKE '%Quillonzeb%') ORDER BY plan_id").map {
                try $0.decode(0, as: String.self)
            }
        }
        #expect(anonymised == ["old-booked", "old-declined"])
        #expect(try await h.count("SELECT count(*) FROM plans WHERE patient ? 'anonymised_at' AND patient->>'id' LIKE 'pat-old-%'") == 2)
        #expect(try await h.count("SELECT count(*) FROM message_deliveries WHERE recipient = '' AND body = ''") == 2)
        #expect(try await h.count("SELECT count(*) FROM message_deliveries WHERE body LIKE '%Quillonzeb%'") == 2)  // open + recent
        #expect(try await h.count(facts) == 4)  // the facts stay
        await h.close()
    }
}
