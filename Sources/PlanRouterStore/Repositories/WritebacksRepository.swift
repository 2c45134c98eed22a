import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A write-back to do: one pms.appointment-requests request for one office.
public struct NewWriteback: Sendable {
    public var request: AppointmentRequest
    /// The event's id (the effect's dedupe key next to the request id).
    public var eventID: String
    public var connector: String
    public var officeID: String
    public init(request: AppointmentRequest, eventID: String, connector: String, officeID: String) {
        self.request = request
        self.eventID = eventID
        self.connector = connector
        self.officeID = officeID
    }
}

/// A pending write-back claimed by one worker until `leaseUntil`.
public struct ClaimedWriteback: Sendable {
    public var id: Int64
    public var officeID: String
    public var request: AppointmentRequest
    public var attempts: Int
}

/// `pms_writebacks` (migration 0018): the effect record of PMS write-backs.
public enum WritebacksRepository {
    /// Records requests to write back; a request already recorded (same organization and
    /// request id) is left alone. Returns how many are new.
    @discardableResult
    public static func record(_ items: [NewWriteback], now: Date, on tx: PostgresConnection) async throws -> Int {
        guard !items.isEmpty else { return 0 }
        return try await tx.execute(
            """
            INSERT INTO pms_writebacks (organization_id, request_id, event_id, connector, office_id, location_id, plan_id, request, created_at,
                                        updated_at)
            SELECT o, r, e, c, f, l, p, q::jsonb, $9, $9
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u(o, r, e, c, f, l, p, q)
            ON CONFLICT (organization_id, request_id) DO NOTHING
            """,
            items.map(\.request.organizationID), items.map(\.request.requestID), items.map(\.eventID), items.map(\.connector),
            items.map(\.officeID), items.map(\.request.locationID), items.map(\.request.planID),
            items.map { $0.request.data.serialized() }, now)
    }

    /// Claims up to `limit` pending write-backs of the offices for `lease`: no other worker
    /// takes them meanwhile; an unfinished claim (a crash) is taken over when it runs out.
    public static func claim(
        connector: String, offices: [String], limit: Int, lease: Duration, now: Date, on tx: PostgresConnection
    ) async throws -> [ClaimedWriteback] {
        let until = now.addingTimeInterval(Double(lease.components.seconds))
        let rows = try await tx.query(
            """
            \(PostgresStatement.plannedForValues)UPDATE pms_writebacks w SET lease_until = $5, attempts = attempts + 1, updated_at = $4
            WHERE w.id IN (SELECT id FROM pms_writebacks
                           WHERE status = 'pending' AND connector = $1 AND office_id = ANY($2::text[]) AND (lease_until IS NULL OR lease_until <= $4)
                           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING w.id, w.office_id, w.request::text, w.attempts
            """, connector, offices, limit, now, until)
        return try rows.map { r in
            let data = try JSONParser.parse(try r.decode(2, as: String.self))
            return ClaimedWriteback(
                id: try r.decode(0, as: Int64.self), officeID: try r.decode(1, as: String.self),
                request: try AppointmentRequest(data: data), attempts: try r.decode(3, as: Int.self))
        }
    }

    /// Lets a claim go at once (a transient failure): the next round takes it again.
    public static func release(_ id: Int64, error: String, now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute(
            "UPDATE pms_writebacks SET lease_until = NULL, reason = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'", id, error,
            now)
    }

    /// Closes a write-back as written (with the PMS appointment) or refused (with the reason).
    /// False when it was no longer pending (another worker closed it).
    public static func close(
        _ id: Int64, written appointmentID: String?, refused reason: String?, now: Date, on tx: PostgresConnection
    ) async throws -> Bool {
        try await tx.execute(
            """
            UPDATE pms_writebacks SET status = CASE WHEN $2::text IS NULL THEN 'refused' ELSE 'written' END,
                pms_appointment_id = $2, reason = $3, lease_until = NULL, updated_at = $4
            WHERE id = $1 AND status IN ('pending', 'submitted')
            """, id, appointmentID, reason, now) == 1
    }

    /// Marks a pending write-back as accepted by an asynchronous PMS (NexHealth answered 201 with
    /// its appointment id); the PMS's insertion webhook closes it. False when it was no longer pending.
    public static func submit(_ id: Int64, appointmentID: String, now: Date, on conn: PostgresConnection) async throws -> Bool {
        try await conn.execute(
            """
            UPDATE pms_writebacks SET status = 'submitted', pms_appointment_id = $2, lease_until = NULL, reason = NULL, updated_at = $3
            WHERE id = $1 AND status = 'pending'
            """, id, appointmentID, now) == 1
    }

    /// The open (pending or submitted) write-back of a request, for the PMS's insertion webhook to close.
    public static func open(
        organizationID: String, requestID: String, on conn: PostgresConnection
    ) async throws -> ClaimedWriteback? {
        guard
            let r = try await conn.query(
                """
                SELECT id, office_id, request::text, attempts FROM pms_writebacks
                WHERE organization_id = $1 AND request_id = $2 AND status IN ('pending', 'submitted') FOR UPDATE
                """, organizationID, requestID
            ).first
        else { return nil }
        return ClaimedWriteback(
            id: try r.decode(0, as: Int64.self), officeID: try r.decode(1, as: String.self),
            request: try AppointmentRequest(data: try JSONParser.parse(try r.decode(2, as: String.self))),
            attempts: try r.decode(3, as: Int.self))
    }

    /// The plans of write-backs that created these PMS appointments (ids of the office's appointments).
    public static func plans(
        ofAppointments ids: [String], organizationID: String, officeID: String, on conn: PostgresConnection
    ) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await conn.query(
            """
            SELECT pms_appointment_id, plan_id FROM pms_writebacks
            WHERE status = 'written' AND organization_id = $1 AND office_id = $2 AND pms_appointment_id = ANY($3::text[])
            """, organizationID, officeID, ids)
        var out: [String: String] = [:]
        for r in rows { out[try r.decode(0, as: String.self)] = try r.decode(1, as: String.self) }
        return out
    }

    /// The write-back of a request (the one a moved booking replaces): its status and, once written, the PMS
    /// appointment it made. Nil when the request never reached this connector.
    public static func outcome(
        organizationID: String, requestID: String, on conn: PostgresConnection
    ) async throws -> (status: String, appointmentID: String?)? {
        guard
            let r = try await conn.query(
                "SELECT status, pms_appointment_id FROM pms_writebacks WHERE organization_id = $1 AND request_id = $2 ORDER BY id DESC LIMIT 1",
                organizationID, requestID
            ).first
        else { return nil }
        return (try r.decode(0, as: String.self), try r.decode(1, as: String?.self))
    }

    /// Counts by status (for `connector status` and tests).
    public static func counts(on conn: PostgresConnection) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for r in try await conn.query("SELECT status, count(*)::int8 FROM pms_writebacks GROUP BY status") {
            out[try r.decode(0, as: String.self)] = Int(try r.decode(1, as: Int64.self))
        }
        return out
    }
}
