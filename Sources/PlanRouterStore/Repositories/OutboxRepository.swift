import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A row of the outbox waiting to be published.
public struct PendingOutboxRow: Sendable {
    public var id: Int64
    public var topic: String
    public var key: [UInt8]?
    public var payload: [UInt8]
    /// The headers as stored: a JSON object of strings.
    public var headersJSON: String
}

/// The `outbox` table: writers insert (with a NOTIFY to wake relays); relays take shards,
/// read pending rows, mark them published or refused, and delete old published rows.
public enum OutboxRepository {
    /// Inserts every record (array parameters + unnest) and notifies relays.
    public static func insert(_ records: [OutboxRecord], now: Date, on tx: PostgresConnection) async throws {
        guard !records.isEmpty else { return }
        var topics: [String] = []
        var keys: [String?] = []
        var shards: [Int32] = []
        var ids: [String] = []
        // Payloads go as text when they are UTF-8 (every event we write; half the bytes of
        // hex), as hex otherwise (dead letters keep the original bytes, valid or not).
        var textPayloads: [String?] = []
        var hexPayloads: [String?] = []
        var headers: [PostgresJSON] = []
        topics.reserveCapacity(records.count)
        for r in records {
            topics.append(r.topic)
            keys.append(r.key.map { Hex.encode($0) })
            shards.append(r.shard)
            ids.append(r.eventID)
            if let text = String(validating: r.payload, as: UTF8.self), !text.utf8.contains(0) {
                textPayloads.append(text)
                hexPayloads.append(nil)
            } else {
                textPayloads.append(nil)
                hexPayloads.append(Hex.encode(r.payload))
            }
            let h = JSONValue.object(JSONObject(r.headers.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) }))
            headers.append(PostgresJSON(h.serialized()))
        }
        try await tx.executeLater(
            """
            INSERT INTO outbox (topic, key, shard, event_id, payload, headers, created_at)
            SELECT t, decode(k, 'hex'), s::smallint, e, coalesce(convert_to(pt, 'UTF8'), decode(ph, 'hex')), h, $8
            FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) AS u(t, k, s, e, pt, ph, h)
            """,
            topics, keys, shards, ids, textPayloads, hexPayloads, headers, now)
        try await tx.executeLater("SELECT pg_notify($1, '')", OutboxBatch.notifyChannel)
    }

    /// Takes the session advisory locks of the shards no one else holds (non-blocking); returns those taken.
    public static func tryLockShards(_ wanted: [Int32], lockClass: Int32, on conn: PostgresConnection) async throws -> [Int32] {
        let rows = try await conn.query(
            "SELECT s FROM unnest($1::int4[]) AS s WHERE pg_try_advisory_lock($2, s)", wanted, lockClass)
        return try rows.map { try $0.decode(0, as: Int32.self) }
    }

    /// Unpublished, not set-aside rows of the shards, oldest first, leaving out the topics in
    /// `pausedTopics` (the relay pauses a topic the cluster refuses until an operator fixes it).
    public static func pending(
        shards: [Int32], pausedTopics: [String] = [], limit: Int, on conn: PostgresConnection
    ) async throws -> [PendingOutboxRow] {
        let rows = try await conn.query(
            """
            SELECT id, topic, key, payload, headers FROM outbox
            WHERE published_at IS NULL AND failed_at IS NULL AND shard = ANY($1::int4[]::smallint[]) AND topic <> ALL($3::text[])
            ORDER BY id LIMIT $2
            """, shards, limit, pausedTopics)
        var out: [PendingOutboxRow] = []
        out.reserveCapacity(rows.count)
        for r in rows {
            out.append(
                PendingOutboxRow(
                    id: try r.decode(0, as: Int64.self), topic: try r.decode(1, as: String.self), key: try r.decode(2, as: [UInt8]?.self),
                    payload: try r.decode(3, as: [UInt8].self), headersJSON: try r.decode(4, as: PostgresJSON.self).text))
        }
        return out
    }

    public static func markPublished(_ ids: [Int64], now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute("UPDATE outbox SET published_at = $2 WHERE id = ANY($1::int8[])", ids, now)
    }

    /// Rows the broker refused for good: one more attempt each, set aside after `maximumAttempts`.
    public static func recordRefused(
        _ ids: [Int64], errors: [String], maximumAttempts: Int, now: Date, on conn: PostgresConnection
    ) async throws {
        _ = try await conn.execute(
            """
            UPDATE outbox o SET attempts = o.attempts + 1, last_error = u.e,
                failed_at = CASE WHEN o.attempts + 1 >= $3 THEN $4 END
            FROM unnest($1::int8[], $2::text[]) AS u(id, e) WHERE o.id = u.id
            """, ids, errors, maximumAttempts, now)
    }

    /// Deletes at most `limit` rows published before `cutoff`; returns how many.
    public static func deletePublished(before cutoff: Date, limit: Int, on conn: PostgresConnection) async throws -> Int {
        try await conn.execute(
            "\(PostgresStatement.plannedForValues)DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < $1 LIMIT \(limit))",
            cutoff)
    }

    public static func backlog(on conn: PostgresConnection) async throws -> OutboxBacklog {
        let rows = try await conn.query(
            """
            SELECT count(*) FILTER (WHERE failed_at IS NULL), min(created_at) FILTER (WHERE failed_at IS NULL),
                   count(*) FILTER (WHERE failed_at IS NOT NULL)
            FROM outbox WHERE published_at IS NULL
            """)
        return OutboxBacklog(
            pending: try rows[0].decode(0, as: Int.self), oldestCreatedAt: try rows[0].decode(1, as: Date?.self),
            failed: try rows[0].decode(2, as: Int.self))
    }
}

/// Backlog of the outbox: how many rows wait and how old the oldest is.
public struct OutboxBacklog: Sendable {
    public var pending: Int
    public var oldestCreatedAt: Date?
    /// Rows the broker refused for good, set aside (see `last_error`).
    public var failed: Int

    public static func read(on conn: PostgresConnection) async throws -> OutboxBacklog {
        try await OutboxRepository.backlog(on: conn)
    }
}
