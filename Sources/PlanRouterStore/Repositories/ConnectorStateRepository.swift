import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Which connector instance's state: an organization, a connector kind and one office.
public struct ConnectorOffice: Sendable, Hashable {
    public var organizationID: String
    public var connector: String
    public var officeID: String
    public init(organizationID: String, connector: String, officeID: String) {
        self.organizationID = organizationID
        self.connector = connector
        self.officeID = officeID
    }
}

/// What the connector last published for one PMS plan.
public struct ConnectorPlanState: Sendable, Hashable {
    public enum State: String, Sendable { case accepted, revoked }
    /// The PMS's plan number.
    public var pmsPlan: String
    public var planID: String
    public var locationID: String
    /// The PMS's patient number.
    public var patient: String
    public var state: State
    public var fingerprint: String
    /// The PMS's procedure numbers, comma-separated.
    public var procedures: String
    public init(
        pmsPlan: String, planID: String, locationID: String, patient: String, state: State, fingerprint: String, procedures: String
    ) {
        self.pmsPlan = pmsPlan
        self.planID = planID
        self.locationID = locationID
        self.patient = patient
        self.state = state
        self.fingerprint = fingerprint
        self.procedures = procedures
    }
}

/// One office's health as `planrouter connector status` shows it.
public struct ConnectorOfficeHealth: Sendable, Hashable {
    public var office: ConnectorOffice
    public var healthy: Bool
    public var lastError: String?
    public var lastSuccessAt: Date?
    public var updatedAt: Date
}

/// The connectors' own tables (migration 0018): watermarks, produced event ids, the plans
/// they published, office health.
public enum ConnectorStateRepository {
    /// Every watermark of the office, by resource (office-local wall times).
    public static func watermarks(_ o: ConnectorOffice, on conn: PostgresConnection) async throws -> [String: String] {
        let rows = try await conn.query(
            "SELECT resource, watermark FROM connector_watermarks WHERE organization_id = $1 AND connector = $2 AND office_id = $3",
            o.organizationID, o.connector, o.officeID)
        var out: [String: String] = [:]
        for r in rows { out[try r.decode(0, as: String.self)] = try r.decode(1, as: String.self) }
        return out
    }

    /// Moves watermarks forward (never back: `yyyy-MM-dd HH:mm:ss` compares as text).
    public static func advance(_ o: ConnectorOffice, _ marks: [String: String], now: Date, on tx: PostgresConnection) async throws {
        guard !marks.isEmpty else { return }
        let sorted = marks.sorted { $0.key < $1.key }
        _ = try await tx.execute(
            """
            INSERT INTO connector_watermarks (organization_id, connector, office_id, resource, watermark, updated_at)
            SELECT $1, $2, $3, r, w, $6 FROM unnest($4::text[], $5::text[]) AS u(r, w)
            ON CONFLICT (organization_id, connector, office_id, resource)
            DO UPDATE SET watermark = greatest(connector_watermarks.watermark, EXCLUDED.watermark), updated_at = EXCLUDED.updated_at
            """, o.organizationID, o.connector, o.officeID, sorted.map(\.key), sorted.map(\.value), now)
    }

    /// Forgets the office's watermarks (all, or one resource): the next poll starts from its initial look-back.
    @discardableResult
    public static func resetWatermarks(_ o: ConnectorOffice, resource: String?, on tx: PostgresConnection) async throws -> Int {
        try await tx.execute(
            """
            DELETE FROM connector_watermarks WHERE organization_id = $1 AND connector = $2 AND office_id = $3
            AND ($4::text IS NULL OR resource = $4)
            """, o.organizationID, o.connector, o.officeID, resource)
    }

    /// Records event ids as produced; returns those that were not produced before.
    public static func recordProduced(
        _ o: ConnectorOffice, _ ids: [String], now: Date, on tx: PostgresConnection
    ) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            INSERT INTO connector_produced (organization_id, connector, office_id, event_id, produced_at)
            SELECT $1, $2, $3, e, $5 FROM unnest($4::text[]) AS u(e)
            ON CONFLICT DO NOTHING RETURNING event_id
            """, o.organizationID, o.connector, o.officeID, ids, now)
        return Set(try rows.map { try $0.decode(0, as: String.self) })
    }

    /// Forgets produced ids older than `before` (re-polls only ever reach back hours).
    @discardableResult
    public static func pruneProduced(before: Date, on tx: PostgresConnection) async throws -> Int {
        try await tx.execute("\(PostgresStatement.plannedForValues)DELETE FROM connector_produced WHERE produced_at < $1", before)
    }

    /// The published state of the office's plans for these patients.
    public static func plans(_ o: ConnectorOffice, patients: [String], on conn: PostgresConnection) async throws -> [ConnectorPlanState] {
        guard !patients.isEmpty else { return [] }
        let rows = try await conn.query(
            """
            SELECT pms_plan, plan_id, location_id, patient, state, fingerprint, procedures FROM connector_plans
            WHERE organization_id = $1 AND connector = $2 AND office_id = $3 AND patient = ANY($4::text[])
            """, o.organizationID, o.connector, o.officeID, patients)
        return try rows.map { r in
            ConnectorPlanState(
                pmsPlan: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self),
                locationID: try r.decode(2, as: String.self),
                patient: try r.decode(3, as: String.self),
                state: ConnectorPlanState.State(rawValue: try r.decode(4, as: String.self)) ?? .revoked,
                fingerprint: try r.decode(5, as: String.self), procedures: try r.decode(6, as: String.self))
        }
    }

    public static func savePlans(_ o: ConnectorOffice, _ plans: [ConnectorPlanState], now: Date, on tx: PostgresConnection) async throws {
        guard !plans.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO connector_plans (organization_id, connector, office_id, pms_plan, plan_id, location_id, patient, state, fingerprint,
                                         procedures, updated_at)
            SELECT $1, $2, $3, a, b, c, d, e, f, g, $11
            FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS u(a, b, c, d, e, f, g)
            ON CONFLICT (organization_id, connector, office_id, pms_plan) DO UPDATE SET
                plan_id = EXCLUDED.plan_id, location_id = EXCLUDED.location_id, patient = EXCLUDED.patient, state = EXCLUDED.state,
                fingerprint = EXCLUDED.fingerprint, procedures = EXCLUDED.procedures, updated_at = EXCLUDED.updated_at
            """,
            binds: [
                o.organizationID, o.connector, o.officeID, plans.map(\.pmsPlan), plans.map(\.planID), plans.map(\.locationID),
                plans.map(\.patient), plans.map(\.state.rawValue), plans.map(\.fingerprint), plans.map(\.procedures), now,
            ])
    }

    /// Records whether the office answered; `error` carries no patient data.
    public static func recordHealth(
        _ o: ConnectorOffice, healthy: Bool, error: String?, now: Date, on conn: PostgresConnection
    ) async throws {
        _ = try await conn.execute(
            """
            INSERT INTO connector_offices (organization_id, connector, office_id, healthy, last_error, last_success_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 THEN $6::timestamptz END, $6)
            ON CONFLICT (organization_id, connector, office_id) DO UPDATE SET
                healthy = EXCLUDED.healthy, last_error = coalesce(EXCLUDED.last_error, connector_offices.last_error),
                last_success_at = coalesce(EXCLUDED.last_success_at, connector_offices.last_success_at), updated_at = EXCLUDED.updated_at
            """, o.organizationID, o.connector, o.officeID, healthy, error, now)
    }

    public static func health(connector: String?, on conn: PostgresConnection) async throws -> [ConnectorOfficeHealth] {
        let rows = try await conn.query(
            """
            SELECT organization_id, connector, office_id, healthy, last_error, last_success_at, updated_at FROM connector_offices
            WHERE $1::text IS NULL OR connector = $1 ORDER BY organization_id, connector, office_id
            """, connector)
        return try rows.map { r in
            ConnectorOfficeHealth(
                office: ConnectorOffice(
                    organizationID: try r.decode(0, as: String.self), connector: try r.decode(1, as: String.self),
                    officeID: try r.decode(2, as: String.self)),
                healthy: try r.decode(3, as: Bool.self), lastError: try r.decode(4, as: String?.self),
                lastSuccessAt: try r.decode(5, as: Date?.self), updatedAt: try r.decode(6, as: Date.self))
        }
    }
}
