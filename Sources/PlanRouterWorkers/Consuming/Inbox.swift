import Foundation
import PlanRouterPostgres

/// The `inbox` table: records event ids per consumer; a redelivered id is skipped.
enum Inbox {
    struct Key: Hashable {
        var source: String
        var id: String
    }

    /// Inserts the keys and returns those that were not there before.
    static func record(
        consumer: String, _ entries: [(key: Key, topic: String, partition: Int32, offset: Int64)], in tx: PostgresConnection,
        now: Date
    ) async throws -> Set<Key> {
        guard !entries.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            INSERT INTO inbox (consumer, source, event_id, topic, partition, "offset", received_at)
            SELECT $1, s, e, t, p, o, $7 FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[]) AS u(s, e, t, p, o)
            ON CONFLICT DO NOTHING
            RETURNING source, event_id
            """,
            consumer, entries.map(\.key.source), entries.map(\.key.id), entries.map(\.topic), entries.map(\.partition),
            entries.map(\.offset), now)
        var fresh = Set<Key>()
        for row in rows { fresh.insert(Key(source: try row.decode(0, as: String.self), id: try row.decode(1, as: String.self))) }
        return fresh
    }
}
