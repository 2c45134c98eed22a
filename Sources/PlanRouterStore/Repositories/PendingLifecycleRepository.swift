import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// `pending_lifecycle_events`: lifecycle events kept until their plan exists.
public enum PendingLifecycleRepository {
    public static func keep(_ events: [(key: PlanKey, event: JSONValue)], now: Date, on tx: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO pending_lifecycle_events (organization_id, plan_id, event, received_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(o, p, e), (SELECT $4::timestamptz) AS t
            """,
            events.map(\.key.organizationID), events.map(\.key.planID), events.map { PostgresJSON($0.event.serialized()) }, now)
    }

    /// Removes and returns the kept events whose plan now exists and has left `accepted` (had its first offer).
    public static func takeReady(on tx: PostgresConnection) async throws -> [(id: Int64, eventJSON: String)] {
        let rows = try await tx.query(
            """
            DELETE FROM pending_lifecycle_events k USING plans p
            WHERE p.organization_id = k.organization_id AND p.plan_id = k.plan_id AND p.status <> 'accepted'
            RETURNING k.id, k.event
            """)
        return try rows.map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: PostgresJSON.self).text) }
    }
}
