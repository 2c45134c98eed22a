import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Retention of operational rows: what the workers needed while a case was moving and nothing
/// reads once it has moved on. Each function deletes one bounded chunk (one short transaction,
/// no long locks) and returns how many rows went; the caller repeats until a chunk comes back
/// empty. Plans, plan events, offers, tasks, bookings, deposits and dead letters are the case's
/// record and the analytics' source: never pruned here.
///
/// What keeps deduplication safe: an inbox row is deleted only once it is older than the inbox
/// retention, which must exceed every window in which its event can arrive again (the topics'
/// retention, a dead-letter replay, a connector watermark reset); docs/operations.md.
public enum OperationalRetentionRepository {
    /// Inbox ids (consumer, source, event id) recorded before `cutoff`, oldest first.
    public static func pruneInbox(receivedBefore cutoff: Date, limit: Int, on conn: PostgresConnection) async throws -> Int {
        try await conn.execute(
            """
            \(PostgresStatement.plannedForValues)DELETE FROM inbox WHERE (consumer, source, event_id) IN (
                SELECT consumer, source, event_id FROM inbox WHERE received_at < $1 ORDER BY received_at LIMIT $2)
            """, cutoff, limit)
    }

    /// The table's id range (nil when empty). The pruning walks it in chunks on the primary key,
    /// so no extra index is kept on the workers' hot path for this daily job. The table name comes
    /// from `PrunableTable`, never from input.
    public static func idBounds(of table: PrunableTable, on conn: PostgresConnection) async throws -> ClosedRange<Int64>? {
        let row = try await conn.query("SELECT min(id), max(id) FROM \(table.rawValue)")[0]
        guard let lo = try row.decode(0, as: Int64?.self), let hi = try row.decode(1, as: Int64?.self) else { return nil }
        return lo...hi
    }

    /// Tables pruned by id range.
    public enum PrunableTable: String, Sendable, CaseIterable {
        case reservations
        case timers
        case nexhealthDeliveries = "nexhealth_deliveries"
    }

    /// Holds released (or expired and released) before `cutoff` with ids in `ids`. Bookings, PMS
    /// appointments and active holds stay; so does a hold still shown as a PMS blockout or still
    /// named by a deposit that is being paid.
    public static func pruneReleasedHolds(
        ids: ClosedRange<Int64>, releasedBefore cutoff: Date, on conn: PostgresConnection
    ) async throws
        -> Int
    {
        try await conn.execute(
            """
            DELETE FROM reservations r
            WHERE r.id BETWEEN $1 AND $2 AND r.kind = 'hold' AND NOT r.active AND r.released_at < $3
              AND NOT EXISTS (SELECT 1 FROM pms_hold_blockouts b
                              WHERE b.organization_id = r.organization_id AND b.reservation_id = r.id AND b.status <> 'removed')
              AND NOT EXISTS (SELECT 1 FROM deposits d
                              WHERE d.organization_id = r.organization_id AND d.reservation_id = r.id AND d.status = 'requested')
            """, ids.lowerBound, ids.upperBound, cutoff)
    }

    /// Timers that fired or were cancelled, created before `cutoff`, with ids in `ids`. Pending
    /// timers are never touched, whatever their age.
    public static func pruneFinishedTimers(
        ids: ClosedRange<Int64>, createdBefore cutoff: Date, on conn: PostgresConnection
    ) async throws
        -> Int
    {
        try await conn.execute(
            "DELETE FROM timers WHERE id BETWEEN $1 AND $2 AND status <> 'pending' AND created_at < $3", ids.lowerBound,
            ids.upperBound, cutoff)
    }

    /// NexHealth webhook deliveries worked off (processed; their bodies were dropped then) before
    /// `cutoff`: NexHealth retries a delivery for 48 hours, so past the inbox retention its key
    /// has nothing left to absorb. Dead deliveries stay for the runbook.
    public static func pruneProcessedNexHealthDeliveries(
        ids: ClosedRange<Int64>, before cutoff: Date, on conn: PostgresConnection
    )
        async throws -> Int
    {
        try await conn.execute(
            "DELETE FROM nexhealth_deliveries WHERE id BETWEEN $1 AND $2 AND status = 'processed' AND updated_at < $3", ids.lowerBound,
            ids.upperBound, cutoff)
    }

    /// Hold blockouts already removed from the PMS, last changed before `cutoff`.
    public static func pruneRemovedHoldBlockouts(before cutoff: Date, limit: Int, on conn: PostgresConnection) async throws -> Int {
        try await conn.execute(
            """
            \(PostgresStatement.plannedForValues)DELETE FROM pms_hold_blockouts WHERE (organization_id, reservation_id) IN (
                SELECT organization_id, reservation_id FROM pms_hold_blockouts WHERE status = 'removed' AND updated_at < $1 LIMIT $2)
            """, cutoff, limit)
    }
}
