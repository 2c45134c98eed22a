import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A hold to show (or stop showing) as a PMS blockout.
public struct HoldBlockout: Sendable {
    public var reservationID: Int64
    public var locationID: String
    public var operatoryID: String
    public var start: Date
    public var end: Date
    /// Set once the PMS answered the create.
    public var scheduleNum: Int64?
}

/// `pms_hold_blockouts` (migration 0025): which holds an office shows as blockouts.
public enum HoldBlockoutsRepository {
    /// Records the office's live holds (active, not expired, with an operatory) that have no
    /// blockout yet as 'creating'; returns every 'creating' row whose hold is still live.
    public static func toCreate(
        organizationID: String, connector: String, officeID: String, locations: [String], now: Date, on tx: PostgresConnection
    ) async throws -> [HoldBlockout] {
        _ = try await tx.execute(
            """
            INSERT INTO pms_hold_blockouts (organization_id, reservation_id, connector, office_id, location_id, status, created_at, updated_at)
            SELECT r.organization_id, r.id, $2, $3, r.location_id, 'creating', $5, $5 FROM reservations r
            WHERE r.organization_id = $1 AND r.location_id = ANY($4::text[]) AND r.kind = 'hold' AND r.active AND r.expires_at > $5
              AND r.operatory_id IS NOT NULL
            ON CONFLICT (organization_id, reservation_id) DO NOTHING
            """, organizationID, connector, officeID, locations, now)
        return try await rows(
            organizationID: organizationID, officeID: officeID,
            where: "b.status = 'creating' AND r.kind = 'hold' AND r.active AND r.expires_at > $3", now: now, on: tx)
    }

    /// Blockouts whose hold ended (booked, released, expired): to delete.
    public static func toRemove(
        organizationID: String, officeID: String, now: Date, on tx: PostgresConnection
    ) async throws -> [HoldBlockout] {
        try await rows(
            organizationID: organizationID, officeID: officeID,
            where: "b.status <> 'removed' AND NOT (r.kind = 'hold' AND r.active AND r.expires_at > $3)", now: now, on: tx)
    }

    static func rows(
        organizationID: String, officeID: String, where condition: String, now: Date, on tx: PostgresConnection
    ) async throws -> [HoldBlockout] {
        try await tx.query(
            """
            SELECT b.reservation_id, b.location_id, r.operatory_id, lower(r.operatory_during), upper(r.operatory_during), b.schedule_num
            FROM pms_hold_blockouts b JOIN reservations r ON r.organization_id = b.organization_id AND r.id = b.reservation_id
            WHERE b.organization_id = $1 AND b.office_id = $2 AND \(condition)
            ORDER BY b.reservation_id
            """, organizationID, officeID, now
        ).map {
            HoldBlockout(
                reservationID: try $0.decode(0, as: Int64.self), locationID: try $0.decode(1, as: String.self),
                operatoryID: try $0.decode(2, as: String?.self) ?? "", start: try $0.decode(3, as: Date.self),
                end: try $0.decode(4, as: Date.self), scheduleNum: try $0.decode(5, as: Int64?.self))
        }
    }

    /// The PMS made the blockout (or had made it: found by a retry).
    public static func created(
        organizationID: String, reservationID: Int64, scheduleNum: Int64, now: Date, on conn: PostgresConnection
    ) async throws {
        _ = try await conn.execute(
            """
            UPDATE pms_hold_blockouts SET status = 'created', schedule_num = $3, updated_at = $4
            WHERE organization_id = $1 AND reservation_id = $2 AND status = 'creating'
            """, organizationID, reservationID, scheduleNum, now)
    }

    /// The blockout is gone from the PMS (deleted, or never made).
    public static func removed(organizationID: String, reservationID: Int64, now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute(
            "UPDATE pms_hold_blockouts SET status = 'removed', updated_at = $3 WHERE organization_id = $1 AND reservation_id = $2",
            organizationID, reservationID, now)
    }
}
