import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The stalled-case watchdog's statements. A case is stalled when it is still
/// `accepted` (not terminal, never offered: no `offers` row) and has no open
/// coordinator task, longer than a bound after PlanRouter recorded it. Each stalled
/// acceptance gets one `routing_stalled` task, with the reason the database shows.
public enum StalledCasesRepository {
    /// The task kind the watchdog creates.
    public static let taskKind = TaskKind.routingStalled.rawValue

    /// A `routing_stalled` task just created.
    public struct Task: Sendable {
        public var id: Int64
        public var organizationID: String
        public var planID: String
        public var locationID: String
        public var ownerID: String
        public var reason: String
        /// JSON object text: plan, acceptance times, what was found.
        public var context: String
    }

    /// One watchdog round's result.
    public struct Round: Sendable {
        /// Tasks created in this round (one per newly stalled case).
        public var created: [Task]
        /// Cases stalled now, flagged in this round or earlier.
        public var stalled: Int
        /// Open `routing_stalled` tasks resolved because their case moved on.
        public var resolved: Int
    }

    /// Only one watchdog round runs at a time across escalation workers; false when
    /// another worker holds the round (the caller skips this one).
    public static func takeRound(on tx: PostgresConnection) async throws -> Bool {
        try await tx.query("SELECT pg_try_advisory_xact_lock($1, 1)", Int32(0x7374_6C6C))[0].decode(0, as: Bool.self)  // "stll"
    }

    /// One round, inside the caller's transaction: resolves the tasks of cases that
    /// moved on, creates a task for each case stalled since before `cutoff` that has
    /// none for its current acceptance (at most `limit`), and counts the stalled cases.
    public static func round(cutoff: Date, now: Date, limit: Int, on tx: PostgresConnection) async throws -> Round {
        let resolved = try await tx.execute(
            """
            UPDATE coordinator_tasks t SET status = 'resolved', outcome = 'routing_resumed', resolved_at = $1
            FROM plans p
            WHERE t.kind = 'routing_stalled' AND t.status = 'open'
              AND p.organization_id = t.organization_id AND p.plan_id = t.plan_id
              AND (p.status <> 'accepted' OR EXISTS (SELECT 1 FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id))
            """, now)
        let rows = try await tx.query(
            """
            \(PostgresStatement.plannedForValues)WITH stalled AS (
                SELECT p.organization_id, p.plan_id, p.location_id, p.accepted_at, p.received_at,
                       planrouter_case_owner(l.coordinators_by_tier,
                                             (SELECT c.tier FROM classifications c WHERE c.organization_id = p.organization_id
                                              AND c.plan_id = p.plan_id ORDER BY c.id DESC LIMIT 1),
                                             p.coordinator_id, l.default_coordinator_id, p.location_id) AS owner_id,
                       EXISTS (SELECT 1 FROM classifications c WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id) AS classified
                FROM plans p JOIN locations l ON l.organization_id = p.organization_id AND l.id = p.location_id
                WHERE p.status = 'accepted' AND p.received_at <= $1::timestamptz
                  AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id)
                  AND NOT EXISTS (SELECT 1 FROM coordinator_tasks t WHERE t.organization_id = p.organization_id AND t.plan_id = p.plan_id
                                  AND t.status = 'open' AND t.kind <> 'routing_stalled')
            ),
            fresh AS (
                SELECT s.* FROM stalled s
                WHERE NOT EXISTS (SELECT 1 FROM coordinator_tasks t WHERE t.organization_id = s.organization_id AND t.plan_id = s.plan_id
                                  AND t.kind = 'routing_stalled' AND t.created_at >= s.received_at)
                ORDER BY s.received_at, s.organization_id, s.plan_id LIMIT $3::int
            ),
            -- What the database shows about each: the plan.classified row set aside or
            -- still waiting in the outbox (our own events: valid JSON), a dead letter
            -- naming the plan id (any bytes: searched as bytes), or no classification.
            found AS (
                SELECT f.*,
                       (SELECT jsonb_build_object('outbox_id', o.id, 'topic', o.topic, 'set_aside', o.failed_at IS NOT NULL,
                                                  'attempts', o.attempts, 'last_error', o.last_error, 'created_at', o.created_at)
                        FROM outbox o
                        WHERE o.published_at IS NULL AND o.topic NOT LIKE '%.dlq' AND o.created_at >= f.received_at
                          AND position(convert_to('"' || f.plan_id || '"', 'UTF8') IN o.payload) > 0
                          -- CASE: the cast only ever sees our own events, whatever order the planner picks.
                          AND (CASE WHEN o.topic NOT LIKE '%.dlq' THEN convert_from(o.payload, 'UTF8')::jsonb END)->>'subject' = f.plan_id
                          AND (CASE WHEN o.topic NOT LIKE '%.dlq' THEN convert_from(o.payload, 'UTF8')::jsonb END)->'data'->>'organization_id'
                              = f.organization_id
                        ORDER BY o.failed_at IS NULL, o.id LIMIT 1) AS outbox,
                       (SELECT jsonb_build_object('outbox_id', o.id, 'topic', o.topic, 'kind', o.headers->>'dlq.kind',
                                                  'reason', left(o.headers->>'dlq.reason', 200), 'created_at', o.created_at)
                        FROM outbox o
                        WHERE o.topic LIKE '%.dlq' AND position(convert_to('"' || f.plan_id || '"', 'UTF8') IN o.payload) > 0
                        ORDER BY o.id DESC LIMIT 1) AS dead_letter
                FROM fresh f
            ),
            reasoned AS (
                SELECT found.*,
                       CASE
                           WHEN outbox IS NOT NULL AND (outbox->>'set_aside')::boolean THEN
                               format('routing stalled: its %s event was set aside by the outbox relay (outbox row %s: %s); run planrouter outbox retry --id %s',
                                      outbox->>'topic', outbox->>'outbox_id', coalesce(outbox->>'last_error', 'refused by the broker'), outbox->>'outbox_id')
                           WHEN dead_letter IS NOT NULL THEN
                               format('routing stalled: an event naming this plan was dead-lettered to %s (%s)', dead_letter->>'topic',
                                      coalesce(dead_letter->>'kind', 'unknown reason'))
                           WHEN NOT classified THEN 'routing stalled: the plan was never classified'
                           WHEN outbox IS NOT NULL THEN
                               format('routing stalled: its %s event is still waiting in the outbox (%s)', outbox->>'topic',
                                      coalesce(outbox->>'last_error', 'relay behind or stopped'))
                           ELSE 'routing stalled: classified and published, but no offer was recorded (is the offer worker running?)'
                       END AS reason
                FROM found
            ),
            tasks AS (
                INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
                SELECT organization_id, plan_id, location_id, owner_id, 'routing_stalled', true, left(reason, 500),
                       jsonb_build_object('plan_id', plan_id, 'accepted_at', accepted_at, 'received_at', received_at,
                                          'stalled_seconds', floor(extract(epoch FROM $2::timestamptz - received_at)), 'classified', classified,
                                          'outbox', outbox, 'dead_letter', dead_letter, 'why', left(reason, 500)),
                       $2
                FROM reasoned
                RETURNING id, organization_id, plan_id, location_id, owner_id, reason, context
            )
            SELECT id, organization_id, plan_id, location_id, owner_id, reason, context, (SELECT count(*) FROM stalled) FROM tasks
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, (SELECT count(*) FROM stalled)
            """, cutoff, now, limit)
        var created: [Task] = []
        var stalled = 0
        for r in rows {
            stalled = try r.decode(7, as: Int.self)
            guard let id = try r.decode(0, as: Int64?.self) else { continue }
            created.append(
                Task(
                    id: id, organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self),
                    locationID: try r.decode(3, as: String.self), ownerID: try r.decode(4, as: String.self),
                    reason: try r.decode(5, as: String.self), context: try r.decode(6, as: PostgresJSON.self).text))
        }
        // The case's history, through the one place that appends plan events.
        try await PlanEventsRepository.append(
            created.map {
                PlanEventRow(
                    organizationID: $0.organizationID, planID: $0.planID, locationID: $0.locationID, kind: taskKind, occurredAt: now,
                    detail: .object(["task_id": .int($0.id), "reason": .string($0.reason)]))
            }, recordedAt: now, on: tx)
        return Round(created: created, stalled: stalled, resolved: resolved)
    }
}
