import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The coordinator workspace's reads and task changes (issue 13 point 4): the queue, the case
/// page's record, attempts, snoozes, reassignments and the dashboard's analytics. Every query
/// is scoped to one organization (and runs in a transaction scoped to it: row-level security).
public enum WorkspaceRepository {
    /// What the queue may show and asks for.
    public struct QueueQuery: Sendable {
        public var organizationID: String
        /// nil: every location of the organization.
        public var visibleLocations: [String]?
        public var locationID: String?
        public var tier: String?
        public var kind: String?
        public var limit: Int

        public init(organizationID: String, visibleLocations: [String]?, locationID: String?, tier: String?, kind: String?, limit: Int) {
            self.organizationID = organizationID
            self.visibleLocations = visibleLocations
            self.locationID = locationID
            self.tier = tier
            self.kind = kind
            self.limit = limit
        }
    }

    /// Open tasks, most urgent first: unsnoozed before snoozed, urgent first, then the tier with
    /// the shortest first-offer SLA (the rules' own measure of urgency), then the oldest, then the
    /// earliest snooze end. Each row is a JSON object (patient name included: the queue is a PHI page).
    public static func queue(_ q: QueueQuery, now: Date, on conn: PostgresConnection) async throws -> [JSONValue] {
        try await conn.query(
            """
            SELECT jsonb_build_object(
                       'id', t.public_id, 'plan_id', t.plan_id, 'location_id', t.location_id, 'location_name', l.name, 'kind', t.kind,
                       'urgent', t.urgent, 'reason', t.reason, 'owner_id', t.owner_id, 'version', t.version,
                       'age_hours', extract(epoch FROM $7 - t.created_at) / 3600.0, 'created_at', t.created_at,
                       'snoozed_until', CASE WHEN t.snoozed_until > $7 THEN t.snoozed_until END,
                       'tier', coalesce(c.tier, t.context->>'tier'), 'value_cents', p.total_fee_cents,
                       'first_name', p.patient->>'first_name', 'last_name', p.patient->>'last_name')::text
            FROM coordinator_tasks t
            JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
            JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
            LEFT JOIN LATERAL (SELECT tier, first_offer_sla_seconds FROM classifications c
                               WHERE c.organization_id = t.organization_id AND c.plan_id = t.plan_id ORDER BY c.id DESC LIMIT 1) c ON true
            WHERE t.organization_id = $1 AND t.status = 'open' AND ($2::text[] IS NULL OR t.location_id = ANY($2::text[]))
              AND ($3::text IS NULL OR t.location_id = $3) AND ($4::text IS NULL OR coalesce(c.tier, t.context->>'tier') = $4)
              AND ($5::text IS NULL OR t.kind = $5)
            ORDER BY coalesce(t.snoozed_until > $7, false), t.urgent DESC, c.first_offer_sla_seconds NULLS LAST, t.created_at, t.snoozed_until, t.id
            LIMIT $6
            """, binds: [q.organizationID, q.visibleLocations, q.locationID, q.tier, q.kind, Int64(q.limit), now]
        ).map { try JSONParser.parse(try $0.decode(0, as: String.self)) }
    }

    /// The organization's locations the caller may see, by name, and the tiers and kinds of its
    /// open tasks: the queue's filter choices.
    public static func filterChoices(
        organizationID: String, visibleLocations: [String]?, on conn: PostgresConnection
    ) async throws -> (locations: [(id: String, name: String)], tiers: [String], kinds: [String]) {
        let locations = try await conn.query(
            """
            SELECT id, name FROM locations WHERE organization_id = $1 AND ($2::text[] IS NULL OR id = ANY($2::text[])) ORDER BY name, id
            """, binds: [organizationID, visibleLocations]
        ).map { (id: try $0.decode(0, as: String.self), name: try $0.decode(1, as: String.self)) }
        let rows = try await conn.query(
            """
            SELECT DISTINCT 'tier', coalesce(c.tier, t.context->>'tier') FROM coordinator_tasks t
            LEFT JOIN LATERAL (SELECT tier FROM classifications c WHERE c.organization_id = t.organization_id AND c.plan_id = t.plan_id
                               ORDER BY c.id DESC LIMIT 1) c ON true
            WHERE t.organization_id = $1 AND t.status = 'open' AND coalesce(c.tier, t.context->>'tier') IS NOT NULL
            UNION SELECT DISTINCT 'kind', kind FROM coordinator_tasks WHERE organization_id = $1 AND status = 'open'
            ORDER BY 1, 2
            """, organizationID)
        var tiers: [String] = []
        var kinds: [String] = []
        for r in rows {
            let value = try r.decode(1, as: String.self)
            if try r.decode(0, as: String.self) == "tier" { tiers.append(value) } else { kinds.append(value) }
        }
        return (locations, tiers, kinds)
    }

    /// Everything the case page shows for one task of the organization, as one JSON document:
    /// the task, the plan (with the patient's contact details), its location, classification,
    /// procedures, offers, messages, history, attempts and the staff actions on it. nil: no such task.
    public static func caseRecord(publicID: UUID, organizationID: String, on conn: PostgresConnection) async throws -> JSONValue? {
        let rows = try await conn.query(
            """
            SELECT jsonb_build_object(
                'task', jsonb_build_object('row_id', t.id, 'id', t.public_id, 'kind', t.kind, 'urgent', t.urgent, 'reason', t.reason,
                                           'owner_id', t.owner_id, 'status', t.status, 'outcome', t.outcome, 'note', t.note,
                                           'version', t.version, 'created_at', t.created_at, 'resolved_at', t.resolved_at,
                                           'snoozed_until', t.snoozed_until, 'context', t.context),
                'plan', jsonb_build_object('plan_id', p.plan_id, 'status', p.status, 'patient', p.patient, 'provider_id', p.provider_id,
                                           'accepted_at', p.accepted_at, 'total_fee_cents', p.total_fee_cents,
                                           'patient_portion_cents', p.patient_portion_cents),
                'location', jsonb_build_object('id', l.id, 'name', l.name, 'time_zone', l.time_zone),
                'classification', (SELECT jsonb_build_object('tier', c.tier, 'path', c.path, 'chair_minutes', c.chair_minutes,
                                                             'deposit_cents', c.deposit_cents, 'reasons', to_jsonb(c.reasons))
                                   FROM classifications c WHERE c.organization_id = t.organization_id AND c.plan_id = t.plan_id
                                   ORDER BY c.id DESC LIMIT 1),
                'procedures', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', pp.code, 'description', pp.description, 'tooth', pp.tooth,
                                                                         'fee_cents', pp.fee_cents) ORDER BY pp.line), '[]')
                               FROM plan_procedures pp WHERE pp.organization_id = t.organization_id AND pp.plan_id = t.plan_id),
                'offers', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', o.id, 'kind', o.kind, 'path', o.path, 'channel', o.channel,
                                                                     'openings', jsonb_array_length(o.openings), 'sent_at', o.sent_at,
                                                                     'deposit_cents', o.deposit_cents, 'sla_met', o.sla_met,
                                                                     'used_at', o.used_at, 'link_expires_at', o.link_expires_at) ORDER BY o.id), '[]')
                           FROM offers o WHERE o.organization_id = t.organization_id AND o.plan_id = t.plan_id),
                'messages', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', m.kind, 'channel', m.channel, 'status', m.status,
                                                                       'created_at', m.created_at, 'sent_at', m.sent_at,
                                                                       'delivered_at', m.delivered_at, 'last_error', m.last_error) ORDER BY m.id), '[]')
                             FROM message_deliveries m WHERE m.organization_id = t.organization_id AND m.plan_id = t.plan_id),
                'history', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', e.kind, 'source', e.source, 'occurred_at', e.occurred_at,
                                                                      'detail', e.detail) ORDER BY e.occurred_at, e.id), '[]')
                            FROM plan_events e WHERE e.organization_id = t.organization_id AND e.plan_id = t.plan_id),
                'attempts', (SELECT coalesce(jsonb_agg(jsonb_build_object('channel', a.channel, 'outcome', a.outcome, 'note', a.note,
                                                                       'at', a.at, 'by', coalesce(u.display_name, a.actor)) ORDER BY a.at, a.id), '[]')
                             FROM task_attempts a LEFT JOIN staff_users u ON a.actor = 'user:' || u.id::text
                             WHERE a.organization_id = t.organization_id AND a.task_id = t.id),
                'audit', (SELECT coalesce(jsonb_agg(jsonb_build_object('action', s.action, 'at', s.at, 'by', coalesce(u.display_name, s.actor),
                                                                    'state_before', s.state_before, 'state_after', s.state_after,
                                                                    'detail', s.detail) ORDER BY s.at, s.id), '[]')
                          FROM staff_audit s LEFT JOIN staff_users u ON s.actor = 'user:' || u.id::text
                          WHERE s.organization_id = t.organization_id AND s.task_public_id = t.public_id)
            )::text
            FROM coordinator_tasks t
            JOIN plans p ON p.organization_id = t.organization_id AND p.plan_id = t.plan_id
            JOIN locations l ON l.organization_id = t.organization_id AND l.id = t.location_id
            WHERE t.public_id = $1 AND t.organization_id = $2
            """, binds: [publicID, organizationID])
        return try rows.first.map { try JSONParser.parse(try $0.decode(0, as: String.self)) }
    }

    /// The plan's offers not used yet, newest first: the links whose openings a coordinator may book.
    public static func unusedOffers(_ key: PlanKey, on conn: PostgresConnection) async throws -> [Int64] {
        try await conn.query(
            "SELECT id FROM offers WHERE organization_id = $1 AND plan_id = $2 AND used_at IS NULL ORDER BY id DESC",
            key.organizationID, key.planID
        ).map { try $0.decode(0, as: Int64.self) }
    }

    /// Locks the task's row; its status and version.
    public static func lockVersion(_ id: Int64, on tx: PostgresConnection) async throws -> (status: String, version: Int)? {
        let rows = try await tx.query("SELECT status, version FROM coordinator_tasks WHERE id = $1 FOR UPDATE", id)
        return try rows.first.map { (try $0.decode(0, as: String.self), Int(try $0.decode(1, as: Int32.self))) }
    }

    /// The last staff action on the task, for a refused action's explanation: who (a display
    /// name, or the key's actor id), what and when. nil when no staff action changed it (the
    /// pipeline did: a booking through the link, a withdrawal).
    public static func lastChange(
        publicID: UUID, organizationID: String, on conn: PostgresConnection
    ) async throws -> (by: String, action: String, at: Date, detail: JSONValue)? {
        let rows = try await conn.query(
            """
            SELECT coalesce(u.display_name, s.actor), s.action, s.at, s.detail::text FROM staff_audit s
            LEFT JOIN staff_users u ON s.actor = 'user:' || u.id::text
            WHERE s.organization_id = $1 AND s.task_public_id = $2 ORDER BY s.at DESC, s.id DESC LIMIT 1
            """, binds: [organizationID, publicID])
        return try rows.first.map {
            (
                try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: Date.self),
                (try? JSONParser.parse(try $0.decode(3, as: String.self))) ?? .object([:])
            )
        }
    }

    /// Records a call or text attempt; touches the task so its version moves (another
    /// coordinator's open form learns of the attempt before acting).
    public static func recordAttempt(
        taskID: Int64, _ key: PlanKey, channel: String, outcome: String, note: String?, actor: String, now: Date, on tx: PostgresConnection
    ) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO task_attempts (organization_id, task_id, plan_id, channel, outcome, note, actor, at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """, binds: [key.organizationID, taskID, key.planID, channel, outcome, note, actor, now])
        _ = try await tx.execute("UPDATE coordinator_tasks SET context = context WHERE id = $1", taskID)
    }

    /// Snoozes the task until `until` (nil: wakes it).
    public static func snooze(taskID: Int64, until: Date?, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("UPDATE coordinator_tasks SET snoozed_until = $2 WHERE id = $1", binds: [taskID, until])
    }

    /// Gives the task to another owner.
    public static func reassign(taskID: Int64, ownerID: String, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("UPDATE coordinator_tasks SET owner_id = $2 WHERE id = $1", taskID, ownerID)
    }

    /// The task's owner.
    public static func owner(taskID: Int64, on conn: PostgresConnection) async throws -> String? {
        try await conn.query("SELECT owner_id FROM coordinator_tasks WHERE id = $1", taskID).first?.decode(0, as: String.self)
    }

    /// The location's IANA time zone name.
    public static func timeZone(organizationID: String, locationID: String, on conn: PostgresConnection) async throws -> String? {
        try await conn.query("SELECT time_zone FROM locations WHERE organization_id = $1 AND id = $2", organizationID, locationID).first?
            .decode(0, as: String.self)
    }

    /// The organization's active staff users who may work tasks: (sign-in name, display name), by name.
    public static func coordinators(organizationID: String, on conn: PostgresConnection) async throws -> [(login: String, name: String)] {
        try await conn.query(
            "SELECT login, display_name FROM staff_users WHERE organization_id = $1 AND disabled_at IS NULL ORDER BY display_name, login",
            organizationID
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }
    }

    // MARK: Dashboard

    /// The `analytics_benchmarks` rows of one organization (or one of its locations) for the last
    /// 30 days as of `asOf` — the function `planrouter report` reads: the whole scope (tier NULL)
    /// and one row per tier, as JSON objects with the function's column names.
    public static func benchmarks(
        organizationID: String, locationID: String?, asOf: Date, on conn: PostgresConnection
    ) async throws -> [JSONValue] {
        try await conn.query(
            """
            SELECT to_jsonb(b)::text FROM analytics_benchmarks(NULL, NULL, $1, $2) b
            WHERE b.level = ANY(CASE WHEN $3::text IS NULL THEN ARRAY['organization', 'organization_tier']
                                     ELSE ARRAY['location', 'location_tier'] END)
              AND ($3::text IS NULL OR b.location_id = $3)
            ORDER BY b.tier NULLS FIRST
            """, binds: [asOf, organizationID, locationID]
        ).map { try JSONParser.parse(try $0.decode(0, as: String.self)) }
    }

    /// Unscheduled cases per age bucket (`analytics_unscheduled_aging`), summed over the scope.
    public static func aging(
        organizationID: String, locationID: String?, asOf: Date, on conn: PostgresConnection
    ) async throws -> [(bucket: String, cases: Int, cents: Int64)] {
        try await conn.query(
            """
            SELECT age_bucket, sum(cases)::int8, sum(value_cents)::int8 FROM analytics_unscheduled_aging($1)
            WHERE organization_id = $2 AND ($3::text IS NULL OR location_id = $3)
            GROUP BY age_bucket, age_bucket_order ORDER BY age_bucket_order
            """, binds: [asOf, organizationID, locationID]
        ).map { (try $0.decode(0, as: String.self), Int(try $0.decode(1, as: Int64.self)), try $0.decode(2, as: Int64.self)) }
    }

    /// Open tasks per owner (`analytics_open_tasks`) with the oldest one's age in hours, oldest first.
    public static func openTasksByOwner(
        organizationID: String, locationID: String?, asOf: Date, on conn: PostgresConnection
    ) async throws -> [(owner: String, tasks: Int, oldestHours: Double)] {
        try await conn.query(
            """
            SELECT owner_id, count(*), max(age_hours)::float8 FROM analytics_open_tasks($1)
            WHERE organization_id = $2 AND ($3::text IS NULL OR location_id = $3)
            GROUP BY owner_id ORDER BY 3 DESC, 1
            """, binds: [asOf, organizationID, locationID]
        ).map { (try $0.decode(0, as: String.self), Int(try $0.decode(1, as: Int64.self)), try $0.decode(2, as: Double.self)) }
    }
}
