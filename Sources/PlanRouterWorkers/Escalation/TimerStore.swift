import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A claimed timer.
struct DueTimer: Sendable {
    var id: Int64
    var organizationID: String
    var planID: String
    var locationID: String
    var kind: String
    var step: Int
    var dueAt: Date
    var action: String
}

/// Durable timers in PostgreSQL.
///
/// Claiming takes a lease in its own short transaction (`FOR UPDATE SKIP LOCKED`, so
/// any number of workers share the due timers without waiting on each other).
/// Firing happens in a second transaction that completes only timers this worker
/// still leases and that are still pending: a worker whose lease ran out and was
/// rescued by another can never complete (or apply) the same timer again.
enum TimerStore {
    static let notifyChannel = "planrouter_timers"

    static func claim(limit: Int, lease: Duration, worker: String, now: Date, in conn: PostgresConnection) async throws -> [DueTimer] {
        let rows = try await conn.query(
            """
            WITH due AS (
                SELECT id FROM timers
                WHERE status = 'pending' AND due_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE timers t SET leased_until = $1 + make_interval(secs => $3), leased_by = $4, attempts = t.attempts + 1
            FROM due WHERE t.id = due.id
            RETURNING t.id, t.organization_id, t.plan_id, t.location_id, t.kind, t.step, t.due_at, coalesce(t.payload->>'action', '')
            """, now, limit, Double(lease.components.seconds), worker)
        return try rows.map { r in
            DueTimer(
                id: try r.decode(0, as: Int64.self), organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self),
                locationID: try r.decode(3, as: String.self), kind: try r.decode(4, as: String.self), step: try r.decode(5, as: Int.self),
                dueAt: try r.decode(6, as: Date.self), action: try r.decode(7, as: String.self))
        }
    }

    /// Completes the timers still leased by `worker`; returns their ids (the ones to apply).
    static func complete(_ ids: [Int64], worker: String, now: Date, in tx: PostgresConnection) async throws -> Set<Int64> {
        let rows = try await tx.query(
            """
            UPDATE timers SET status = 'done', fired_at = $3, leased_until = NULL
            WHERE id = ANY($1::int8[]) AND status = 'pending' AND leased_by = $2
            RETURNING id
            """, ids, worker, now)
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Moves timers to a later due time (quiet hours) and gives up the lease.
    static func postpone(_ items: [(id: Int64, until: Date)], worker: String, in tx: PostgresConnection) async throws {
        guard !items.isEmpty else { return }
        _ = try await tx.execute(
            """
            UPDATE timers t SET due_at = u.d, leased_until = NULL, leased_by = NULL
            FROM unnest($1::int8[], $2::timestamptz[]) AS u(id, d) WHERE t.id = u.id AND t.status = 'pending' AND t.leased_by = $3
            """, items.map(\.id), items.map(\.until), worker)
    }

    /// The earliest pending due time, to know how long to sleep.
    static func nextDue(in conn: PostgresConnection) async throws -> Date? {
        try await conn.query("SELECT min(due_at) FROM timers WHERE status = 'pending'")[0].decode(0, as: Date?.self)
    }
}
