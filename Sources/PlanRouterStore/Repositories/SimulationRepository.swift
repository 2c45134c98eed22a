import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// One booking made in PlanRouter (an active `booking` reservation) and what became of its
/// write-back to the PMS (nil status: no write-back was ever recorded for it).
public struct SimulatedBooking: Sendable {
    public var planID: String
    public var writebackStatus: String?
    public var officeID: String?
    public var pmsAppointmentID: String?
    public var reason: String?
}

/// What `planrouter simulate --pms opendental` reads to know the cluster is quiet and to count
/// its outcome; read-only, across organizations (the simulator connects with `TenantScope.allOrganizations`).
public enum SimulationRepository {
    /// Outbox rows of `topics` with an id above `after` (id, topic, event id). The simulator keeps
    /// its own distinct-id tally, because the relay deletes published rows after a retention.
    public static func outboxRows(
        topics: [String], after: Int64, on conn: PostgresConnection
    ) async throws -> [(id: Int64, topic: String, eventID: String)] {
        try await conn.query(
            "SELECT id, topic, event_id FROM outbox WHERE id > $1 AND topic = ANY($2::text[]) ORDER BY id", after, topics
        ).map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)) }
    }

    /// Events a consumer group has applied (its inbox rows).
    public static func inboxCount(consumer: String, on conn: PostgresConnection) async throws -> Int {
        Int(try await conn.query("SELECT count(*)::int8 FROM inbox WHERE consumer = $1", consumer)[0].decode(0, as: Int64.self))
    }

    /// Write-backs not finished yet (neither written nor refused).
    public static func unfinishedWritebacks(on conn: PostgresConnection) async throws -> Int {
        Int(
            try await conn.query("SELECT count(*)::int8 FROM pms_writebacks WHERE status NOT IN ('written', 'refused')")[0].decode(
                0, as: Int64.self))
    }

    /// Every live booking made in PlanRouter for the organization, with its write-back's fate.
    public static func bookings(organizationID: String, on conn: PostgresConnection) async throws -> [SimulatedBooking] {
        try await conn.query(
            """
            SELECT r.plan_id, w.status, w.office_id, w.pms_appointment_id, w.reason
            FROM (SELECT DISTINCT plan_id FROM reservations
                  WHERE organization_id = $1 AND kind = 'booking' AND active AND plan_id IS NOT NULL) r
            LEFT JOIN LATERAL (SELECT status, office_id, pms_appointment_id, reason FROM pms_writebacks w
                               WHERE w.organization_id = $1 AND w.plan_id = r.plan_id
                               ORDER BY (w.status = 'written') DESC, w.id DESC LIMIT 1) w ON true
            ORDER BY r.plan_id
            """, organizationID
        ).map {
            SimulatedBooking(
                planID: try $0.decode(0, as: String.self), writebackStatus: try $0.decode(1, as: String?.self),
                officeID: try $0.decode(2, as: String?.self), pmsAppointmentID: try $0.decode(3, as: String?.self),
                reason: try $0.decode(4, as: String?.self))
        }
    }

    /// A case's status, nil when PlanRouter has no such plan.
    public static func planStatus(organizationID: String, planID: String, on conn: PostgresConnection) async throws -> String? {
        try await conn.query("SELECT status FROM plans WHERE organization_id = $1 AND plan_id = $2", organizationID, planID).first?.decode(
            0, as: String.self)
    }
}
