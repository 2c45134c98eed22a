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
        _ = try await tx.execute(
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
}
