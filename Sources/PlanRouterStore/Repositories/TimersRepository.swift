import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A claimed timer.
public struct DueTimer: Sendable {
    public var id: Int64
    public var organizationID: String
    public var planID: String
    public var locationID: String
    public var kind: String
    public var step: Int
    public var dueAt: Date
    /// The ladder step's action (`payload->>'action'`), empty when there is none.
    public var action: String

    public var key: PlanKey { PlanKey(organizationID: organizationID, planID: planID) }
    public var location: LocationKey { LocationKey(organizationID: organizationID, locationID: locationID) }
    public var ladderAction: LadderAction? { LadderAction(rawValue: action) }
}

/// One step of a case's escalation ladder, to schedule.
public struct LadderTimerRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var step: Int32
    public var dueAt: Date
    public var payload: JSONValue

    public init(key: PlanKey, locationID: String, step: Int32, dueAt: Date, payload: JSONValue) {
        self.key = key
        self.locationID = locationID
        self.step = step
        self.dueAt = dueAt
        self.payload = payload
    }
}

/// Durable timers in PostgreSQL (`timers`).
///
/// Claiming takes a lease in its own short transaction (`FOR UPDATE SKIP LOCKED`, so
/// any number of workers share the due timers without waiting on each other).
/// Firing happens in a second transaction that completes only timers this worker
/// still leases and that are still pending: a worker whose lease ran out and was
/// rescued by another can never complete (or apply) the same timer again.
public enum TimersRepository {
    /// Channel notified when timers are scheduled.
    public static let notifyChannel = "planrouter_timers"

    /// Schedules ladder timers and wakes the escalation workers (at commit).
    public static func scheduleLadder(_ rows: [LadderTimerRow], now: Date, on tx: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        try await tx.executeLater(
            """
            INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
            SELECT o, p, l, 'ladder', s, d, pl, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[], $6::jsonb[])
                AS u(o, p, l, s, d, pl)
            """, rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.locationID), rows.map(\.step), rows.map(\.dueAt),
            rows.map { PostgresJSON($0.payload.serialized()) }, now)
        try await tx.executeLater("SELECT pg_notify('planrouter_timers', '')")
    }

    /// Pauses a provisional booking's ladder: cancels the plan's pending timers and schedules the end
    /// of its hold (`kind = 'deposit'`) carrying the paused ladder steps. If the deposit is unpaid by
    /// then, the escalation worker releases the hold and resumes the steps (docs/payments.md).
    public static func pauseForDeposit(
        _ key: PlanKey, locationID: String, depositID: String, dueAt: Date, now: Date, on tx: PostgresConnection
    ) async throws {
        let paused = try await tx.query(
            """
            UPDATE timers SET status = 'cancelled'
            WHERE organization_id = $1 AND plan_id = $2 AND status = 'pending' RETURNING id
            """, key.organizationID, key.planID
        ).map { try $0.decode(0, as: Int64.self) }
        let payload = JSONValue.object([
            "action": .string(depositExpiryAction), "deposit_id": .string(depositID), "paused": .array(paused.map { .int($0) }),
        ])
        try await tx.executeLater(
            """
            INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
            VALUES ($1, $2, $3, 'deposit', 0, $4, $5, $6)
            """, key.organizationID, key.planID, locationID, dueAt, PostgresJSON(payload.serialized()), now)
        try await tx.executeLater("SELECT pg_notify('planrouter_timers', '')")
    }

    /// Resumes the ladder steps a provisional booking paused (those still ahead of `now`); returns how many.
    @discardableResult
    public static func resumePaused(ofDepositTimer id: Int64, now: Date, on tx: PostgresConnection) async throws -> Int {
        try await tx.execute(
            """
            UPDATE timers t SET status = 'pending', leased_until = NULL, leased_by = NULL
            FROM timers d, jsonb_array_elements_text(d.payload->'paused') AS p(id)
            WHERE d.id = $1 AND t.id = p.id::int8 AND t.organization_id = d.organization_id AND t.plan_id = d.plan_id
              AND t.status = 'cancelled' AND t.due_at > $2
            """, id, now)
    }

    /// `payload->>'action'` of a deposit-expiry timer.
    public static let depositExpiryAction = "deposit_expiry"
    /// `payload->>'action'` of a deposit reminder (deposit_after_booking).
    public static let depositReminderAction = "deposit_reminder"

    /// A reminder of an unpaid deposit at `dueAt` (`kind = 'deposit'`); the escalation worker sends it if still unpaid.
    public static func scheduleDepositReminder(
        _ key: PlanKey, locationID: String, depositID: String, dueAt: Date, now: Date, on tx: PostgresConnection
    ) async throws {
        let payload = JSONValue.object(["action": .string(depositReminderAction), "deposit_id": .string(depositID)])
        _ = try await tx.execute(
            """
            INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
            VALUES ($1, $2, $3, 'deposit', 0, $4, $5, $6)
            """, key.organizationID, key.planID, locationID, dueAt, PostgresJSON(payload.serialized()), now)
    }

    /// The timer kind that re-offers a case whose booked time the PMS refused (the write-back
    /// schedules it in the refusal's transaction; the escalation worker fires it through the offer planner).
    public static let pmsRefusedKind = "pms_refused"

    /// Schedules one timer of `kind` for a case and wakes the escalation workers (at commit).
    public static func schedule(
        kind: String, key: PlanKey, locationID: String, dueAt: Date, step: Int32 = 0, now: Date, on tx: PostgresConnection
    ) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, created_at)
            VALUES ($1, $2, $3, $4, $7, $5, $6)
            """, key.organizationID, key.planID, locationID, kind, dueAt, now, step)
        _ = try await tx.execute("SELECT pg_notify('planrouter_timers', '')")
    }

    public static func claim(limit: Int, lease: Duration, worker: String, now: Date, on conn: PostgresConnection) async throws -> [DueTimer]
    {
        let rows = try await conn.query(
            """
            \(PostgresStatement.plannedForValues)WITH due AS (
                SELECT id FROM timers
                WHERE status = 'pending' AND due_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE timers t SET leased_until = $1 + make_interval(secs => $3), leased_by = $4, attempts = t.attempts + 1
            FROM due WHERE t.id = due.id
            RETURNING t.id, t.organization_id, t.plan_id, t.location_id, t.kind, t.step, t.due_at, coalesce(t.payload->>'action', '')
            """, now, limit, Double(lease.components.seconds), worker)
        return try rows.map { r in
            DueTimer(
                id: try r.decode(0, as: Int64.self), organizationID: try r.decode(1, as: String.self),
                planID: try r.decode(2, as: String.self),
                locationID: try r.decode(3, as: String.self), kind: try r.decode(4, as: String.self), step: try r.decode(5, as: Int.self),
                dueAt: try r.decode(6, as: Date.self), action: try r.decode(7, as: String.self))
        }
    }

    /// Completes the timers still leased by `worker`; returns their ids (the ones to apply).
    public static func complete(_ ids: [Int64], worker: String, now: Date, on tx: PostgresConnection) async throws -> Set<Int64> {
        let rows = try await tx.query(
            """
            UPDATE timers SET status = 'done', fired_at = $3, leased_until = NULL
            WHERE id = ANY($1::int8[]) AND status = 'pending' AND leased_by = $2
            RETURNING id
            """, ids, worker, now)
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Moves timers to a later due time (quiet hours) and gives up the lease.
    public static func postpone(_ items: [(id: Int64, until: Date)], worker: String, on tx: PostgresConnection) async throws {
        guard !items.isEmpty else { return }
        _ = try await tx.execute(
            """
            UPDATE timers t SET due_at = u.d, leased_until = NULL, leased_by = NULL
            FROM unnest($1::int8[], $2::timestamptz[]) AS u(id, d) WHERE t.id = u.id AND t.status = 'pending' AND t.leased_by = $3
            """, items.map(\.id), items.map(\.until), worker)
    }

    /// Cancels the plans' pending timers (their ladders end).
    public static func cancelPending(_ keys: [PlanKey], on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            UPDATE timers t SET status = 'cancelled' FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE t.organization_id = u.o AND t.plan_id = u.p AND t.status = 'pending'
            """, keys.map(\.organizationID), keys.map(\.planID))
    }

    /// The earliest pending due time, to know how long to sleep.
    public static func nextDue(on conn: PostgresConnection) async throws -> Date? {
        try await conn.query("SELECT min(due_at) FROM timers WHERE status = 'pending'")[0].decode(0, as: Date?.self)
    }

    /// Pending timers already due at `now`, and all pending timers (scrape-time gauges).
    public static func counts(now: Date, on conn: PostgresConnection) async throws -> (due: Int, pending: Int) {
        let row = try await conn.query(
            "SELECT count(*) FILTER (WHERE due_at <= $1), count(*) FROM timers WHERE status = 'pending'", now)[0]
        return (try row.decode(0, as: Int.self), try row.decode(1, as: Int.self))
    }
}
