import Foundation
import PlanRouterPostgres

/// `bench pipeline --offer --history N`: the database first gets N closed cases of the past two
/// years at the bench's locations, each with what the pipeline left behind: its procedure,
/// classification, four plan events, its offer, three released holds, a booking (two cases in
/// three), three finished timers and three inbox ids. Published outbox rows are not seeded: the
/// relay deletes them after a day (`worker relay --retention`), so they never pile up. With
/// `--prune-history` the seeded rows that `planrouter retention prune` removes are removed
/// first, as a platform running it daily would have them. Bench-only SQL, numbers only.
enum BenchHistory {
    static let chunk = 100_000

    static func seed(plans n: Int, locations: Int, on conn: PostgresConnection, progress: (String) -> Void) async throws {
        let started = ContinuousClock.now
        for start in stride(from: 0, to: n, by: chunk) {
            let end = min(n, start + chunk)
            for statement in statements(from: start, to: end, locations: locations) { try await conn.simpleQuery(statement) }
            progress("history: \(end) of \(n) past cases seeded (\(ContinuousClock.now - started))")
        }
        try await conn.simpleQuery("ANALYZE")
    }

    /// The cases [from, to): case i is at location i % locations (organization as the generator's),
    /// accepted up to two years before 2026-11-01; bookings are spread so no two overlap.
    static func statements(from: Int, to: Int, locations l: Int) -> [String] {
        let series = """
            WITH s AS (
                SELECT g AS i, 'org-' || ((g % \(l)) % 10) AS org, 'loc-' || (g % \(l)) AS loc, 'hist-p' || g AS plan,
                       'prov-' || (g % \(l)) || '-' || ((g / \(l)) % 4) AS prov,
                       timestamptz '2026-11-01T15:00:00Z' - (g % 730) * interval '1 day' - (g % 97) * interval '1 minute' AS at,
                       (ARRAY['booked', 'booked', 'declined'])[g % 3 + 1] AS status
                FROM generate_series(\(from), \(to - 1)) AS g)
            """
        return [
            series + """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at, first_accepted_at)
                SELECT org, plan, loc, 'hist-pat' || i, prov, at, 'chair', 150000, jsonb_build_object('id', 'hist-pat' || i), status,
                       'bench', 'hist-e' || i, at, at + interval '2 days', at FROM s
                """,
            series + """
                INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, fee_cents)
                SELECT org, plan, 1, 'CDT', 'D2740', 'crown - porcelain/ceramic', 150000 FROM s
                """,
            series + """
                INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                                             first_offer_sla_seconds, hold_window_seconds, provider_role, rules_version, reasons,
                                             accepted_at, classified_at)
                SELECT org, plan, loc, 'restorative', 'self_book', 60, 150000, 0, 1800, 172800, 'dentist', 1, '{}', at, at FROM s
                """,
            series + """
                INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
                SELECT org, plan, loc, k, 'bench', 'hist-e' || i || '-' || k, at + n * interval '1 hour', at + n * interval '1 hour', '{}'
                FROM s, LATERAL (VALUES ('accepted', 0), ('classified', 0), ('offered', 0), (status, 30)) AS e(k, n)
                """,
            series + """
                INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                                    plan_accepted_at, sent_at, sla_seconds, sla_met, used_at, released_at)
                SELECT org, plan, loc, 'initial', 'self_book', 'sms', '[]', 0, at + interval '2 days', at, at, 1800, true,
                       CASE WHEN status = 'booked' THEN at + interval '30 hours' END, at FROM s
                """,
            series + """
                INSERT INTO reservations (organization_id, location_id, provider_id, during, operatory_during, kind, active, plan_id,
                                          created_at, expires_at, released_at, release_reason)
                SELECT org, loc, prov, tstzrange(at + d * interval '1 day', at + d * interval '1 day' + interval '1 hour'),
                       tstzrange(at + d * interval '1 day', at + d * interval '1 day' + interval '1 hour'), 'hold', false, plan, at,
                       at + interval '2 days', at + interval '30 hours', CASE WHEN status = 'booked' THEN 'booked_other' ELSE 'declined' END
                FROM s, generate_series(1, 3) AS d
                """,
            series + """
                INSERT INTO reservations (organization_id, location_id, provider_id, during, operatory_during, kind, active, plan_id, created_at)
                SELECT org, loc, prov, tstzrange(b, b + interval '1 hour'), tstzrange(b, b + interval '1 hour'), 'booking', true, plan, at
                FROM (SELECT *, timestamptz '2024-06-01T13:00:00Z' + (i / \(l * 4)) * interval '70 minutes' AS b FROM s) x
                WHERE status = 'booked'
                """,
            series + """
                INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, status, created_at, fired_at)
                SELECT org, plan, loc, 'ladder', d, at + d * interval '1 day', CASE WHEN d = 1 THEN 'done' ELSE 'cancelled' END, at,
                       CASE WHEN d = 1 THEN at + interval '1 day' END
                FROM s, generate_series(1, 3) AS d
                """,
            series + """
                INSERT INTO inbox (consumer, source, event_id, topic, partition, "offset", received_at)
                SELECT c, 'bench-history', 'hist-e' || i || '-' || c, 'plan.accepted', 0, i, at
                FROM s, unnest(ARRAY['planrouter-classifier', 'planrouter-offer', 'planrouter-escalation']) AS c
                """,
        ]
    }
}
