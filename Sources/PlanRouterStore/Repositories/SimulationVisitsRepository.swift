import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A booked case's appointment whose start has passed on the simulated clock.
public struct SimulatedAppointment: Sendable {
    public var planID: String
    public var locationID: String
    public var patientID: String?
    public var providerID: String
    /// The PMS's appointment id; nil for a booking made through PlanRouter that no PMS has named yet.
    public var appointmentID: String?
    public var reservationID: Int64
    public var start: Date
    public var minutes: Int
}

/// A follow-up case routed for a later visit (`plan_visits.follow_up_plan_id`).
public struct SimulatedFollowUp: Sendable {
    public var parentPlanID: String
    public var followUpPlanID: String
    public var acceptedAt: Date
}

/// What `planrouter simulate` reads to complete appointments and follow the visits they lead to;
/// read-only, across organizations (the simulator connects with `TenantScope.allOrganizations`).
public enum SimulationVisitsRepository {
    /// Appointments of booked cases (PlanRouter bookings and PMS appointments naming the case) that
    /// started at or before `now` and are not completed yet.
    public static func started(organizationID: String, now: Date, on conn: PostgresConnection) async throws -> [SimulatedAppointment] {
        try await conn.query(
            """
            SELECT r.plan_id, r.location_id, r.patient_id, r.provider_id,
                   -- A PlanRouter booking is the appointment its write-back made in the PMS (when there is one).
                   coalesce(r.appointment_id, (SELECT w.pms_appointment_id FROM pms_writebacks w
                                               WHERE w.organization_id = r.organization_id AND w.plan_id = r.plan_id
                                                 AND w.status = 'written' ORDER BY w.id DESC LIMIT 1)), r.id, lower(r.operatory_during),
                   (extract(epoch FROM upper(r.operatory_during) - lower(r.operatory_during)) / 60)::int8
            FROM reservations r
            JOIN plans p ON p.organization_id = r.organization_id AND p.plan_id = r.plan_id
            WHERE r.organization_id = $1 AND r.active AND r.kind IN ('booking', 'pms') AND p.status = 'booked'
              AND r.status IS DISTINCT FROM 'completed' AND lower(r.operatory_during) <= $2
            ORDER BY lower(r.operatory_during), r.id
            """, organizationID, now
        ).map {
            SimulatedAppointment(
                planID: try $0.decode(0, as: String.self), locationID: try $0.decode(1, as: String.self),
                patientID: try $0.decode(2, as: String?.self), providerID: try $0.decode(3, as: String.self),
                appointmentID: try $0.decode(4, as: String?.self), reservationID: try $0.decode(5, as: Int64.self),
                start: try $0.decode(6, as: Date.self), minutes: Int(try $0.decode(7, as: Int64.self)))
        }
    }

    /// Every follow-up case routed so far for the organization.
    public static func followUps(organizationID: String, on conn: PostgresConnection) async throws -> [SimulatedFollowUp] {
        try await conn.query(
            """
            SELECT v.plan_id, v.follow_up_plan_id, p.accepted_at
            FROM plan_visits v
            JOIN plans p ON p.organization_id = v.organization_id AND p.plan_id = v.follow_up_plan_id
            WHERE v.organization_id = $1
            ORDER BY v.routed_at, v.plan_id, v.visit_number
            """, organizationID
        ).map {
            SimulatedFollowUp(
                parentPlanID: try $0.decode(0, as: String.self), followUpPlanID: try $0.decode(1, as: String.self),
                acceptedAt: try $0.decode(2, as: Date.self))
        }
    }

    /// Follow-up cases routed in [from, to) and how many of them were booked by `to`.
    public static func rebooking(
        organizationID: String, from: Date, to: Date, on conn: PostgresConnection
    ) async throws -> (routed: Int, booked: Int) {
        let r = try await conn.query(
            """
            SELECT count(*)::int8, count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM plan_events e WHERE e.organization_id = v.organization_id AND e.plan_id = v.follow_up_plan_id
                         AND e.kind = 'booked' AND e.occurred_at <= $3))::int8
            FROM plan_visits v
            WHERE v.organization_id = $1 AND v.routed_at >= $2 AND v.routed_at < $3
            """, organizationID, from, to)[0]
        return (Int(try r.decode(0, as: Int64.self)), Int(try r.decode(1, as: Int64.self)))
    }

    /// Cases re-opened to a coordinator in [from, to) because their booked appointment was broken in the
    /// PMS (a no-show, or a front desk breaking it): the lifecycle's `reopened` history.
    public static func reopenedAfterBroken(organizationID: String, from: Date, to: Date, on conn: PostgresConnection) async throws -> Int {
        Int(
            try await conn.query(
                """
                SELECT count(*)::int8 FROM plan_events
                WHERE organization_id = $1 AND kind = 'reopened' AND detail->>'reason' = 'the booked appointment was broken in the PMS'
                  AND occurred_at >= $2 AND occurred_at < $3
                """, organizationID, from, to)[0].decode(0, as: Int64.self))
    }
}
