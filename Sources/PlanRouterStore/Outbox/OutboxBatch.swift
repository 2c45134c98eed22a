import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Outgoing records collected during one transaction and inserted with one statement.
public struct OutboxBatch: Sendable {
    public private(set) var records: [OutboxRecord] = []

    public init() {}

    public mutating func append(_ record: OutboxRecord) { records.append(record) }

    public mutating func append(_ event: CloudEvent, topic: String) {
        records.append(OutboxRecord(event: event, topic: topic))
    }

    public var isEmpty: Bool { records.isEmpty }

    /// The channel relays LISTEN on; NOTIFY is delivered at commit, so relays wake
    /// exactly when there is something committed to publish.
    public static let notifyChannel = "planrouter_outbox"

    /// Inserts every record (array parameters + unnest) and notifies relays.
    public func insert(on tx: PostgresConnection, now: Date) async throws {
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
        _ = try await tx.execute(
            """
            INSERT INTO outbox (topic, key, shard, event_id, payload, headers, created_at)
            SELECT t, decode(k, 'hex'), s::smallint, e, coalesce(convert_to(pt, 'UTF8'), decode(ph, 'hex')), h, $8
            FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) AS u(t, k, s, e, pt, ph, h)
            """,
            topics, keys, shards, ids, textPayloads, hexPayloads, headers, now)
        _ = try await tx.execute("SELECT pg_notify($1, '')", OutboxBatch.notifyChannel)
    }
}
