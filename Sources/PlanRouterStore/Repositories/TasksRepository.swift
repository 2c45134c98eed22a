import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A coordinator task to create.
public struct NewTaskRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var ownerID: String
    public var kind: TaskKind
    public var urgent: Bool
    public var reason: String
    public var context: JSONValue

    public init(key: PlanKey, locationID: String, ownerID: String, kind: TaskKind, urgent: Bool, reason: String, context: JSONValue) {
        self.key = key
        self.locationID = locationID
        self.ownerID = ownerID
        self.kind = kind
        self.urgent = urgent
        self.reason = reason
        self.context = context
    }
}

/// A coordinator task as created: its row id and its `coordinator.tasks` event data.
public struct CreatedTask: Sendable {
    public var id: Int64
    /// The task as published (`task_id` is `id` as text).
    public var task: CoordinatorTask

    public var key: PlanKey { PlanKey(organizationID: task.organizationID, planID: task.planID) }

    public init(id: Int64, task: CoordinatorTask) {
        self.id = id
        self.task = task
    }
}

/// `coordinator_tasks`.
public enum TasksRepository {
    /// Creates tasks in input order; returns each task's id by plan and kind.
    public static func insert(_ tasks: [NewTaskRow], now: Date, on tx: PostgresConnection) async throws -> [TaskID: Int64] {
        guard !tasks.isEmpty else { return [:] }
        let rows = try await tx.query(
            """
            INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
            SELECT o, p, l, ow, k, ur, r, c, $10
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::jsonb[], $9::int4[])
                 AS u(o, p, l, ow, k, ur, r, c, ord)
            ORDER BY ord
            RETURNING id, organization_id, plan_id, kind
            """,
            tasks.map(\.key.organizationID), tasks.map(\.key.planID), tasks.map(\.locationID), tasks.map(\.ownerID),
            tasks.map(\.kind.rawValue),
            tasks.map(\.urgent), tasks.map(\.reason), tasks.map { PostgresJSON($0.context.serialized()) }, tasks.indices.map { Int32($0) },
            now)
        var ids: [TaskID: Int64] = [:]
        for r in rows {
            let key = PlanKey(organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self))
            guard let kind = TaskKind(rawValue: try r.decode(3, as: String.self)) else { continue }
            ids[TaskID(key: key, kind: kind)] = try r.decode(0, as: Int64.self)
        }
        return ids
    }

    /// A task by its plan and kind (a case has at most one task of a kind per batch).
    public struct TaskID: Hashable, Sendable {
        public var key: PlanKey
        public var kind: TaskKind
        public init(key: PlanKey, kind: TaskKind) {
            self.key = key
            self.kind = kind
        }
    }

    /// The ladder's last step for cases just escalated: one task each, with the case's full
    /// context assembled in SQL from its records (plan, procedures, tier, every offer and
    /// message sent, deposit, channel and consent, and why).
    /// `kind` and `reason` replace the ladder's (`escalation`, "no booking N h after acceptance; …") for cases
    /// handed over for another reason (no valid opening left, a stale calendar); the context is the same.
    /// `extraContext` (an object) is merged into the context, e.g. the patient's reply for a `patient_reply` task.
    public static func createEscalationTasks(
        for keys: [PlanKey], kind: TaskKind = .escalation, urgent: Bool? = nil, reason: String? = nil, extraContext: JSONValue? = nil,
        now: Date, on tx: PostgresConnection
    ) async throws -> [CreatedTask] {
        guard !keys.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            WITH due AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS u(o, p)),
            cases AS (
                SELECT p.*, c.tier, c.deposit_cents, c.chair_minutes, c.reasons, l.default_coordinator_id, l.coordinators_by_tier,
                       (SELECT count(*) FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id AND o.kind = 'nudge') AS nudges
                FROM plans p JOIN due ON p.organization_id = due.o AND p.plan_id = due.p
                JOIN locations l ON l.organization_id = p.organization_id AND l.id = p.location_id
                -- LEFT: a case is never handed over without its task, even if its classification is missing.
                LEFT JOIN LATERAL (SELECT * FROM classifications c WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
                                   ORDER BY c.id DESC LIMIT 1) c ON true)
            INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
            SELECT organization_id, plan_id, location_id,
                   planrouter_case_owner(coordinators_by_tier, tier, coordinator_id, default_coordinator_id, location_id),
                   $4, coalesce($6::bool, tier = 'surgical', false),
                   coalesce($5::text, format('no booking %s h after acceptance; %s nudge(s) sent',
                                             floor(extract(epoch FROM $3 - accepted_at) / 3600), nudges)),
                   jsonb_build_object(
                       'plan_id', plan_id, 'patient_id', patient_id, 'provider_id', provider_id, 'tier', tier,
                       'value_cents', total_fee_cents, 'chair_minutes', chair_minutes, 'accepted_at', accepted_at,
                       -- The latest deposit's status (requested, paid, expired, refunded) once one was asked for.
                       'deposit', jsonb_build_object('cents', deposit_cents, 'status', coalesce(
                           (SELECT d.status FROM deposits d WHERE d.organization_id = cases.organization_id AND d.plan_id = cases.plan_id
                            ORDER BY d.requested_at DESC LIMIT 1),
                           CASE WHEN deposit_cents > 0 THEN 'not_requested' ELSE 'none' END)),
                       'preferred_channel', patient->'preferred_channel', 'sms_consent', coalesce(patient->'sms_consent', 'false'::jsonb),
                       'has_phone', patient ? 'phone', 'has_email', patient ? 'email',
                       'procedures', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', pp.code, 'description', pp.description, 'fee_cents', pp.fee_cents) ORDER BY pp.line), '[]')
                                      FROM plan_procedures pp WHERE pp.organization_id = cases.organization_id AND pp.plan_id = cases.plan_id),
                       'offers', (SELECT coalesce(jsonb_agg(jsonb_build_object('offer_id', o.id, 'kind', o.kind, 'channel', o.channel, 'sent_at', o.sent_at,
                                                                            'openings', o.openings, 'sla_met', o.sla_met) ORDER BY o.id), '[]')
                                  FROM offers o WHERE o.organization_id = cases.organization_id AND o.plan_id = cases.plan_id),
                       'classification', to_jsonb(reasons),
                       'why', coalesce($5::text, format('no booking %s h after acceptance; %s nudge(s) sent',
                                                        floor(extract(epoch FROM $3 - accepted_at) / 3600), nudges)))
                       || coalesce($7::jsonb, '{}'::jsonb),
                   $3
            FROM cases
            RETURNING id, organization_id, plan_id, location_id, owner_id, urgent, reason, context
            """,
            binds: [
                keys.map(\.organizationID), keys.map(\.planID), now, kind.rawValue, reason, urgent,
                extraContext.map { PostgresJSON($0.serialized()) },
            ])
        return try rows.map { r in
            let id = try r.decode(0, as: Int64.self)
            // The context as PostgreSQL wrote it (jsonb's member order).
            let context = (try? JSONParser.parse(try r.decode(7, as: PostgresJSON.self).text))?.objectValue ?? [:]
            return CreatedTask(
                id: id,
                task: CoordinatorTask(
                    taskID: String(id), organizationID: try r.decode(1, as: String.self), locationID: try r.decode(3, as: String.self),
                    planID: try r.decode(2, as: String.self), ownerID: try r.decode(4, as: String.self), kind: kind,
                    urgent: try r.decode(5, as: Bool.self), reason: try r.decode(6, as: String.self), createdAt: now, context: context))
        }
    }

    /// An urgent escalation task for a case whose booked appointment was cancelled in the
    /// PMS; the owner as `planrouter_case_owner` decides (tier owner, plan's coordinator, default).
    public static func insertReopened(
        _ key: PlanKey, locationID: String, coordinatorID: String?, reason: String, appointmentID: String, now: Date,
        on tx: PostgresConnection
    ) async throws -> CreatedTask {
        let task = try await tx.query(
            """
            INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
            SELECT $1, $2, $3, planrouter_case_owner(l.coordinators_by_tier, c.tier, $4::text, l.default_coordinator_id, $3::text),
                   'escalation', true, $5, jsonb_build_object('plan_id', $2::text, 'appointment_id', $6::text, 'why', $5::text), $7
            FROM locations l
            LEFT JOIN LATERAL (SELECT tier FROM classifications c WHERE c.organization_id = $1 AND c.plan_id = $2
                               ORDER BY c.id DESC LIMIT 1) c ON true
            WHERE l.organization_id = $1 AND l.id = $3
            RETURNING id, owner_id
            """, binds: [key.organizationID, key.planID, locationID, coordinatorID, reason, appointmentID, now])
        let id = try task[0].decode(0, as: Int64.self)
        // The context in the order the event has always carried it (the row's is jsonb's).
        let context: JSONObject = ["plan_id": .string(key.planID), "appointment_id": .string(appointmentID), "why": .string(reason)]
        return CreatedTask(
            id: id,
            task: CoordinatorTask(
                taskID: String(id), organizationID: key.organizationID, locationID: locationID, planID: key.planID,
                ownerID: try task[0].decode(1, as: String.self), kind: .escalation, urgent: true, reason: reason, createdAt: now,
                context: context))
    }

    /// Cancels the plans' open tasks (but `exceptTask`) with `outcome`.
    public static func cancelOpen(_ keys: [PlanKey], outcome: String, exceptTask: Int64?, now: Date, on tx: PostgresConnection) async throws
    {
        _ = try await tx.execute(
            """
            UPDATE coordinator_tasks c SET status = 'cancelled', outcome = $3, resolved_at = $4
            FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE c.organization_id = u.o AND c.plan_id = u.p AND c.status = 'open' AND c.id <> $5
            """, keys.map(\.organizationID), keys.map(\.planID), outcome, now, exceptTask ?? -1)
    }

    static let taskColumns = """
        public_id, organization_id, plan_id, location_id, owner_id, kind, urgent, reason, status, outcome, note, created_at, resolved_at, context
        """

    /// What a staff listing may see and asks for: one organization, its locations (nil: all), and filters.
    public struct StaffQuery: Sendable {
        public var organizationID: String
        public var visibleLocations: [String]?
        public var status: String
        public var locationID: String?
        public var ownerID: String?
        public var planID: String?
        public var limit: Int

        public init(
            organizationID: String, visibleLocations: [String]?, status: String, locationID: String?, ownerID: String?, planID: String?,
            limit: Int
        ) {
            self.organizationID = organizationID
            self.visibleLocations = visibleLocations
            self.status = status
            self.locationID = locationID
            self.ownerID = ownerID
            self.planID = planID
            self.limit = limit
        }
    }

    /// The organization's tasks matching the query, oldest first, as JSON (`id` is the task's public id).
    public static func list(_ q: StaffQuery, on conn: PostgresConnection) async throws -> [JSONValue] {
        try await conn.query(
            """
            SELECT \(Self.taskColumns) FROM coordinator_tasks
            WHERE organization_id = $1 AND ($2::text[] IS NULL OR location_id = ANY($2::text[])) AND status = $3
              AND ($4::text IS NULL OR location_id = $4) AND ($5::text IS NULL OR owner_id = $5) AND ($6::text IS NULL OR plan_id = $6)
            ORDER BY created_at, id LIMIT $7
            """,
            binds: [q.organizationID, q.visibleLocations, q.status, q.locationID, q.ownerID, q.planID, Int64(q.limit)]
        ).map(Self.taskJSON)
    }

    /// A task of the organization by its public id: its row id, plan and location; nil when the
    /// organization has no such task (another organization's task is not found either).
    public static func find(
        publicID: UUID, organizationID: String, on tx: PostgresConnection
    ) async throws -> (
        id: Int64, key: PlanKey, locationID: String
    )? {
        let found = try await tx.query(
            "SELECT id, plan_id, location_id FROM coordinator_tasks WHERE public_id = $1 AND organization_id = $2",
            binds: [publicID, organizationID])
        guard let f = found.first else { return nil }
        return (
            try f.decode(0, as: Int64.self), PlanKey(organizationID: organizationID, planID: try f.decode(1, as: String.self)),
            try f.decode(2, as: String.self)
        )
    }

    /// Locks the task's row; returns its status.
    public static func lockStatus(_ id: Int64, on tx: PostgresConnection) async throws -> TaskStatus? {
        let status = try await tx.query("SELECT status FROM coordinator_tasks WHERE id = $1 FOR UPDATE", id)
        return try status.first.flatMap { TaskStatus(rawValue: try $0.decode(0, as: String.self)) }
    }

    /// Resolves the task; returns it as JSON.
    public static func resolve(_ id: Int64, outcome: String, note: String?, now: Date, on tx: PostgresConnection) async throws -> JSONValue
    {
        let updated = try await tx.query(
            """
            UPDATE coordinator_tasks SET status = 'resolved', outcome = $2, note = $3, resolved_at = $4 WHERE id = $1
            RETURNING \(Self.taskColumns)
            """, binds: [id, outcome, note, now])
        return try Self.taskJSON(updated[0])
    }

    static func taskJSON(_ r: PostgresRow) throws -> JSONValue {
        var o: JSONObject = [
            "id": .string(try r.decode(0, as: UUID.self).uuidString.lowercased()),
            "organization_id": .string(try r.decode(1, as: String.self)),
            "plan_id": .string(try r.decode(2, as: String.self)), "location_id": .string(try r.decode(3, as: String.self)),
            "owner_id": .string(try r.decode(4, as: String.self)), "kind": .string(try r.decode(5, as: String.self)),
            "urgent": .bool(try r.decode(6, as: Bool.self)), "reason": .string(try r.decode(7, as: String.self)),
            "status": .string(try r.decode(8, as: String.self)),
        ]
        o["outcome"] = try r.decode(9, as: String?.self).map(JSONValue.string) ?? .null
        o["note"] = try r.decode(10, as: String?.self).map(JSONValue.string) ?? .null
        o["created_at"] = .string(RFC3339.format(try r.decode(11, as: Date.self)))
        o["resolved_at"] = try r.decode(12, as: Date?.self).map { .string(RFC3339.format($0)) } ?? .null
        o["context"] = (try? JSONParser.parse(try r.decode(13, as: PostgresJSON.self).text)) ?? .object([:])
        return .object(o)
    }
}
