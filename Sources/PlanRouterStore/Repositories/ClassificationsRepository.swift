import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// `classifications`: one row per classification of a plan (the latest is the current one).
public enum ClassificationsRepository {
    /// The tier of the plan's current (latest) classification.
    public static func latestTier(_ key: PlanKey, on conn: PostgresConnection) async throws -> String? {
        try await conn.query(
            "SELECT tier FROM classifications WHERE organization_id = $1 AND plan_id = $2 ORDER BY id DESC LIMIT 1",
            key.organizationID, key.planID
        ).first?.decode(0, as: String.self)
    }

    public static func insert(
        _ cs: [(key: PlanKey, locationID: String, acceptedAt: Date, classification: Classification)], now: Date, on tx: PostgresConnection
    ) async throws {
        guard !cs.isEmpty else { return }
        // Reasons travel as one JSON array per plan (text[][] cannot be ragged).
        try await tx.executeLater(
            """
            INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                first_offer_sla_seconds, hold_window_seconds, provider_role, rules_version, reasons, accepted_at, classified_at)
            SELECT o, p, l, t, pa, cm, v, d, sla, hw, r, rv, ARRAY(SELECT jsonb_array_elements_text(rs)), at, $15
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int8[], $8::int8[], $9::int4[],
                        $10::int4[], $11::text[], $12::int4[], $13::jsonb[], $14::timestamptz[])
                 AS u(o, p, l, t, pa, cm, v, d, sla, hw, r, rv, rs, at)
            """,
            cs.map(\.key.organizationID), cs.map(\.key.planID), cs.map(\.locationID), cs.map(\.classification.tier.rawValue),
            cs.map(\.classification.path.rawValue), cs.map { Int32($0.classification.chairMinutes) }, cs.map(\.classification.valueCents),
            cs.map(\.classification.depositCents), cs.map { Int32($0.classification.firstOfferSLASeconds) },
            cs.map { Int32($0.classification.holdWindowSeconds) }, cs.map(\.classification.providerRole?.rawValue),
            cs.map { Int32($0.classification.rulesVersion) },
            cs.map { PostgresJSON(JSONValue.array($0.classification.reasons.map { .string($0) }).serialized()) }, cs.map(\.acceptedAt), now)
    }
}
