import Foundation
import PlanRouterPostgres

/// The outbox statements behind the relay's error policy and `planrouter outbox
/// status` / `retry`: refusals noted on rows that stay pending, and the rows set aside
/// (`failed_at`) with their reasons. (Pending rows: `OutboxRepository.pending`.)
public enum OutboxRetryRepository {
    /// Records why the broker refused rows that stay pending (a paused topic): the
    /// attempts and `failed_at` are left alone, so the rows are retried, and
    /// `planrouter outbox status` can say what is holding them.
    public static func noteRefusal(ids: [Int64], error: String, on conn: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        _ = try await conn.execute(
            "UPDATE outbox SET last_error = $2 WHERE id = ANY($1::int8[]) AND published_at IS NULL", ids, String(error.prefix(500)))
    }

    /// Rows set aside, or still pending with a refusal on record, grouped by topic and reason.
    public struct Group: Sendable, Hashable {
        public var topic: String
        public var reason: String
        public var count: Int
        /// The first few ids, for `planrouter outbox retry --id`.
        public var ids: [Int64]
        public var oldestCreatedAt: Date
    }

    /// Set-aside rows by topic and reason (most rows first).
    public static func setAside(on conn: PostgresConnection) async throws -> [Group] {
        try await groups(where: "failed_at IS NOT NULL", on: conn)
    }

    /// Pending rows whose last send was refused (a paused topic), by topic and reason.
    public static func refusedPending(on conn: PostgresConnection) async throws -> [Group] {
        try await groups(where: "failed_at IS NULL AND last_error IS NOT NULL", on: conn)
    }

    private static func groups(where condition: String, on conn: PostgresConnection) async throws -> [Group] {
        let rows = try await conn.query(
            """
            SELECT topic, coalesce(last_error, ''), count(*), (array_agg(id ORDER BY id))[1:10], min(created_at)
            FROM outbox WHERE published_at IS NULL AND \(condition)
            GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 50
            """)
        return try rows.map { r in
            Group(
                topic: try r.decode(0, as: String.self), reason: try r.decode(1, as: String.self), count: try r.decode(2, as: Int.self),
                ids: try r.decode(3, as: [Int64].self), oldestCreatedAt: try r.decode(4, as: Date.self))
        }
    }

    /// Which set-aside rows `retry` puts back.
    public enum Selection: Sendable, Hashable {
        case ids([Int64])
        case topic(String)
        case all
    }

    /// Puts set-aside rows back in the queue (clears `failed_at`, `attempts` and
    /// `last_error`) and wakes the relays; returns how many rows. A set-aside row may
    /// have reached the topic already (a late acknowledgement), so a retry can publish
    /// it twice: consumers deduplicate by event id.
    public static func retry(_ selection: Selection, on conn: PostgresConnection) async throws -> Int {
        let base =
            "UPDATE outbox SET failed_at = NULL, attempts = 0, last_error = NULL WHERE failed_at IS NOT NULL AND published_at IS NULL"
        let count: Int
        switch selection {
        case .ids(let ids): count = try await conn.execute(base + " AND id = ANY($1::int8[])", ids)
        case .topic(let topic): count = try await conn.execute(base + " AND topic = $1", topic)
        case .all: count = try await conn.execute(base)
        }
        if count > 0 { _ = try await conn.execute("SELECT pg_notify('planrouter_outbox', '')") }
        return count
    }
}
