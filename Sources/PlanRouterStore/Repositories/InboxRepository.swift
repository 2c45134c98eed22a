import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// One event id to record in the inbox, with where it came from.
public struct InboxEntry: Sendable {
    public var key: EventKey
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(key: EventKey, topic: String, partition: Int32, offset: Int64) {
        self.key = key
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// The `inbox` table: event ids per consumer; a redelivered id is skipped.
public enum InboxRepository {
    /// Inserts the keys and returns those that were not there before.
    public static func record(consumer: String, _ entries: [InboxEntry], now: Date, on tx: PostgresConnection) async throws -> Set<EventKey>
    {
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
        var fresh = Set<EventKey>()
        for row in rows { fresh.insert(EventKey(source: try row.decode(0, as: String.self), id: try row.decode(1, as: String.self))) }
        return fresh
    }
}
