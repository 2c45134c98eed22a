import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The last step of every ladder: a coordinator task with the case's full context.
enum Escalations {
    static func createTasks(for timers: [DueTimer], in tx: PostgresConnection, outbox: inout OutboxBatch, topics: TopicNames, now: Date) async throws {
        // Context is assembled in SQL from the case's records: plan, procedures, tier,
        // every offer and message sent, deposit, channel and consent, and why.
        let rows = try await tx.query(
            """
            WITH due AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS u(o, p)),
            cases AS (
                SELECT p.*, c.tier, c.deposit_cents, c.chair_minutes, c.reasons, l.default_coordinator_id,
                       (SELECT count(*) FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id AND o.kind = 'nudge') AS nudges
                FROM plans p JOIN due ON p.organization_id = due.o AND p.plan_id = due.p
                JOIN locations l ON l.id = p.location_id
                JOIN LATERAL (SELECT * FROM classifications c WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
                              ORDER BY c.id DESC LIMIT 1) c ON true
                WHERE p.status = 'offered'
                FOR UPDATE OF p),
            upd AS (UPDATE plans SET status = 'escalated', updated_at = $3 FROM cases
                    WHERE plans.organization_id = cases.organization_id AND plans.plan_id = cases.plan_id)
            INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
            SELECT organization_id, plan_id, location_id, coalesce(coordinator_id, default_coordinator_id, 'location:' || location_id),
                   'escalation', tier = 'surgical',
                   format('no booking %s h after acceptance; %s nudge(s) sent', floor(extract(epoch FROM $3 - accepted_at) / 3600), nudges),
                   jsonb_build_object(
                       'plan_id', plan_id, 'patient_id', patient_id, 'provider_id', provider_id, 'tier', tier,
                       'value_cents', total_fee_cents, 'chair_minutes', chair_minutes, 'accepted_at', accepted_at,
                       'deposit', jsonb_build_object('cents', deposit_cents, 'status', CASE WHEN deposit_cents > 0 THEN 'requested' ELSE 'none' END),
                       'preferred_channel', patient->'preferred_channel', 'sms_consent', coalesce(patient->'sms_consent', 'false'::jsonb),
                       'has_phone', patient ? 'phone', 'has_email', patient ? 'email',
                       'procedures', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', pp.code, 'description', pp.description, 'fee_cents', pp.fee_cents) ORDER BY pp.line), '[]')
                                      FROM plan_procedures pp WHERE pp.organization_id = cases.organization_id AND pp.plan_id = cases.plan_id),
                       'offers', (SELECT coalesce(jsonb_agg(jsonb_build_object('offer_id', o.id, 'kind', o.kind, 'channel', o.channel, 'sent_at', o.sent_at,
                                                                            'openings', o.openings, 'sla_met', o.sla_met) ORDER BY o.id), '[]')
                                  FROM offers o WHERE o.organization_id = cases.organization_id AND o.plan_id = cases.plan_id),
                       'classification', to_jsonb(reasons),
                       'why', format('no booking %s h after acceptance; %s nudge(s) sent', floor(extract(epoch FROM $3 - accepted_at) / 3600), nudges)),
                   $3
            FROM cases
            RETURNING id, organization_id, plan_id, location_id, owner_id, urgent, reason, context
            """, timers.map(\.organizationID), timers.map(\.planID), now)
        var o: [String] = [], p: [String] = [], l: [String] = [], d: [PostgresJSON] = []
        for r in rows {
            let id = try r.decode(0, as: Int64.self)
            let context = (try? JSONParser.parse(try r.decode(7, as: PostgresJSON.self).text)) ?? .object([:])
            let data: JSONObject = [
                "task_id": .string(String(id)), "organization_id": .string(try r.decode(1, as: String.self)),
                "location_id": .string(try r.decode(3, as: String.self)), "plan_id": .string(try r.decode(2, as: String.self)),
                "owner_id": .string(try r.decode(4, as: String.self)), "kind": "escalation", "urgent": .bool(try r.decode(5, as: Bool.self)),
                "reason": .string(try r.decode(6, as: String.self)), "created_at": .string(RFC3339.format(now)), "context": context,
            ]
            outbox.append(
                CloudEvent(id: "task-\(id)", source: "planrouter/escalation", type: .coordinatorTasks, time: now, subject: data["plan_id"]!.stringValue, data: .object(data)),
                topic: topics[.coordinatorTasks])
            o.append(data["organization_id"]!.stringValue!)
            p.append(data["plan_id"]!.stringValue!)
            l.append(data["location_id"]!.stringValue!)
            d.append(PostgresJSON(JSONValue.object(["task_id": .int(id), "reason": data["reason"]!]).serialized()))
        }
        if !o.isEmpty {
            _ = try await tx.execute(
                """
                INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at, detail)
                SELECT o, p, l, 'escalated', $5, $5, d FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) AS u(o, p, l, d)
                """, o, p, l, d, now)
        }
    }
}
