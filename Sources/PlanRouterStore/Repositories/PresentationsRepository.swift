import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// One presented plan (plan.presented), with the tier it would be classified as.
public struct PresentationRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var providerID: String?
    public var patientID: String?
    public var tier: String
    public var totalFeeCents: Int64
    public var presentedAt: Date

    public init(
        key: PlanKey, locationID: String, providerID: String?, patientID: String?, tier: String, totalFeeCents: Int64, presentedAt: Date
    ) {
        self.key = key
        self.locationID = locationID
        self.providerID = providerID
        self.patientID = patientID
        self.tier = tier
        self.totalFeeCents = totalFeeCents
        self.presentedAt = presentedAt
    }
}

/// `presented_plans`: the denominator of the plan acceptance rate (`analytics_plan_acceptance`).
public enum PresentationsRepository {
    /// Records presentations in one statement. A plan presented again keeps its first presentation
    /// time; the latest presentation's plan (location, provider, tier, value) wins, so a re-presented,
    /// changed plan is counted once with its current content.
    public static func record(_ rows: [PresentationRow], on tx: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        // One row per plan in the statement (ON CONFLICT cannot touch a row twice): the latest wins.
        var latest: [PlanKey: PresentationRow] = [:]
        var first: [PlanKey: Date] = [:]
        for r in rows {
            first[r.key] = min(first[r.key] ?? r.presentedAt, r.presentedAt)
            if let l = latest[r.key], l.presentedAt > r.presentedAt { continue }
            latest[r.key] = r
        }
        let rows = latest.values.sorted { ($0.key.organizationID, $0.key.planID) < ($1.key.organizationID, $1.key.planID) }
        _ = try await tx.execute(
            """
            INSERT INTO presented_plans AS p (organization_id, plan_id, location_id, provider_id, patient_id, tier, total_fee_cents,
                                              first_presented_at, last_presented_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[],
                                 $8::timestamptz[], $9::timestamptz[])
            ON CONFLICT (organization_id, plan_id) DO UPDATE SET
                first_presented_at = least(p.first_presented_at, excluded.first_presented_at),
                last_presented_at = greatest(p.last_presented_at, excluded.last_presented_at),
                location_id = CASE WHEN excluded.last_presented_at >= p.last_presented_at THEN excluded.location_id ELSE p.location_id END,
                provider_id = CASE WHEN excluded.last_presented_at >= p.last_presented_at THEN excluded.provider_id ELSE p.provider_id END,
                patient_id = CASE WHEN excluded.last_presented_at >= p.last_presented_at THEN excluded.patient_id ELSE p.patient_id END,
                tier = CASE WHEN excluded.last_presented_at >= p.last_presented_at THEN excluded.tier ELSE p.tier END,
                total_fee_cents = CASE WHEN excluded.last_presented_at >= p.last_presented_at
                                       THEN excluded.total_fee_cents ELSE p.total_fee_cents END
            """,
            rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.locationID), rows.map(\.providerID), rows.map(\.patientID),
            rows.map(\.tier), rows.map(\.totalFeeCents), rows.map { first[$0.key]! }, rows.map(\.presentedAt))
    }
}
