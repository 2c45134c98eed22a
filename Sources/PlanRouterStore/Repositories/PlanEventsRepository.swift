import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// One row of a case's history (`plan_events`).
public struct PlanEventRow: Sendable {
    public var organizationID: String
    public var planID: String
    public var locationID: String
    public var kind: String
    /// The event that caused it, when one did.
    public var source: String?
    public var eventID: String?
    public var occurredAt: Date
    public var detail: JSONValue

    public init(
        organizationID: String, planID: String, locationID: String, kind: String, source: String? = nil, eventID: String? = nil,
        occurredAt: Date, detail: JSONValue
    ) {
        self.organizationID = organizationID
        self.planID = planID
        self.locationID = locationID
        self.kind = kind
        self.source = source
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.detail = detail
    }
}

/// `plan_events`, the append-only history of every case analysts read.
///
/// `append` is the only statement in the code base that inserts into `plan_events`.
public enum PlanEventsRepository {
    /// Appends the rows with one statement, all recorded at `recordedAt`.
    public static func append(_ rows: [PlanEventRow], recordedAt: Date, on tx: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        try await tx.executeLater(
            """
            INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
            SELECT o, p, l, k, s, e, at, $9, d
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[])
                 AS u(o, p, l, k, s, e, at, d)
            """,
            rows.map(\.organizationID), rows.map(\.planID), rows.map(\.locationID), rows.map(\.kind), rows.map(\.source),
            rows.map(\.eventID),
            rows.map(\.occurredAt), rows.map { PostgresJSON($0.detail.serialized()) }, recordedAt)
    }

    /// Where a booking came from: the `booked` or `rescheduled` event that made reservation `reservationID`
    /// (its event id is the appointment request's id), the first booking of its chain of moves and how
    /// many moves led here (the calendar file's stable UID and its SEQUENCE). Nil: no such event (a
    /// booking made before events named their reservation).
    public static func bookingOrigin(_ key: PlanKey, reservationID: Int64, on conn: PostgresConnection) async throws -> BookingOrigin? {
        guard
            let r = try await conn.query(
                """
                SELECT event_id, coalesce((detail->>'first_reservation_id')::int8, $3), coalesce((detail->>'sequence')::int8, 0)
                FROM plan_events
                WHERE organization_id = $1 AND plan_id = $2 AND kind IN ('booked', 'rescheduled') AND detail->>'reservation_id' = $3::text
                ORDER BY id DESC LIMIT 1
                """, key.organizationID, key.planID, reservationID
            ).first
        else { return nil }
        return BookingOrigin(
            requestID: try r.decode(0, as: String?.self), firstReservationID: try r.decode(1, as: Int64.self),
            sequence: Int(try r.decode(2, as: Int64.self)))
    }
}

/// A booking's origin in the case's history (`PlanEventsRepository.bookingOrigin`).
public struct BookingOrigin: Sendable, Hashable {
    /// The appointment request that wrote this booking to the PMS.
    public var requestID: String?
    /// The reservation of the first booking of the chain (the calendar UID's).
    public var firstReservationID: Int64
    /// How many times the booking moved (the calendar SEQUENCE).
    public var sequence: Int
}
