import Foundation
import PlanRouterPostgres

/// A verified NexHealth webhook delivery to record.
public struct NewNexHealthDelivery: Sendable {
    public var organizationID: String
    /// A digest of the signed body: NexHealth's retries of one delivery carry the same body.
    public var deliveryKey: String
    public var subdomain: String
    public var eventName: String
    public var body: String
    public init(organizationID: String, deliveryKey: String, subdomain: String, eventName: String, body: String) {
        self.organizationID = organizationID
        self.deliveryKey = deliveryKey
        self.subdomain = subdomain
        self.eventName = eventName
        self.body = body
    }
}

/// A pending delivery claimed by one connector process until its lease ends.
public struct ClaimedNexHealthDelivery: Sendable {
    public var id: Int64
    public var organizationID: String
    public var deliveryKey: String
    public var subdomain: String
    public var eventName: String
    public var body: String
    public var attempts: Int
}

/// `nexhealth_deliveries` (migration 0025): the NexHealth webhook's inbox.
public enum NexHealthDeliveriesRepository {
    /// Records a delivery; false when it was already recorded (a retry or a replay: a no-op).
    public static func record(_ d: NewNexHealthDelivery, now: Date, on tx: PostgresConnection) async throws -> Bool {
        try await tx.execute(
            """
            INSERT INTO nexhealth_deliveries (organization_id, delivery_key, subdomain, event_name, body, received_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (organization_id, delivery_key) DO NOTHING
            """, d.organizationID, d.deliveryKey, d.subdomain, d.eventName, d.body, now) == 1
    }

    /// Claims up to `limit` pending deliveries, oldest first, for `lease`.
    public static func claim(limit: Int, lease: Duration, now: Date, on tx: PostgresConnection) async throws -> [ClaimedNexHealthDelivery] {
        let until = now.addingTimeInterval(Double(lease.components.seconds))
        return try await tx.query(
            """
            \(PostgresStatement.plannedForValues)UPDATE nexhealth_deliveries d SET lease_until = $3, attempts = attempts + 1, updated_at = $2
            WHERE d.id IN (SELECT id FROM nexhealth_deliveries WHERE status = 'pending' AND (lease_until IS NULL OR lease_until <= $2)
                           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING d.id, d.organization_id, d.delivery_key, d.subdomain, d.event_name, d.body, d.attempts
            """, limit, now, until
        ).map { r in
            ClaimedNexHealthDelivery(
                id: try r.decode(0, as: Int64.self), organizationID: try r.decode(1, as: String.self),
                deliveryKey: try r.decode(2, as: String.self), subdomain: try r.decode(3, as: String.self),
                eventName: try r.decode(4, as: String.self), body: try r.decode(5, as: String.self), attempts: try r.decode(6, as: Int.self)
            )
        }
        .sorted { $0.id < $1.id }
    }

    /// Closes a delivery as processed, or dead with `reason`. False when it was no longer pending.
    /// A processed delivery's body (patient data) is dropped: only its key is needed, to absorb
    /// retries; a dead one keeps it, to be worked again after the fix.
    public static func close(_ id: Int64, dead reason: String?, now: Date, on tx: PostgresConnection) async throws -> Bool {
        try await tx.execute(
            """
            UPDATE nexhealth_deliveries SET status = CASE WHEN $2::text IS NULL THEN 'processed' ELSE 'dead' END, reason = $2,
                body = CASE WHEN $2::text IS NULL THEN '' ELSE body END, lease_until = NULL, updated_at = $3
            WHERE id = $1 AND status = 'pending'
            """, id, reason, now) == 1
    }

    /// Gives a claim back after a transient failure (the API it needed did not answer).
    public static func release(_ id: Int64, error: String, now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute(
            "UPDATE nexhealth_deliveries SET lease_until = NULL, reason = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'", id,
            error, now)
    }

    /// Counts by status (for `connector status` and tests).
    public static func counts(on conn: PostgresConnection) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for r in try await conn.query("SELECT status, count(*)::int8 FROM nexhealth_deliveries GROUP BY status") {
            out[try r.decode(0, as: String.self)] = Int(try r.decode(1, as: Int64.self))
        }
        return out
    }
}
