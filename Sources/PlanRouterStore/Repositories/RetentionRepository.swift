import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Retention of patient data: closed cases past an age lose their contact details. The case's
/// facts (ids, codes, amounts, times, events) stay, so analytics for past periods do not change.
public enum RetentionRepository {
    /// Statuses that close a case (`CaseStatus`): nothing will message the patient again.
    static let closed = CaseStatus.closing.map(\.rawValue).sorted()

    /// Anonymises up to `limit` closed cases last changed before `cutoff`: the plan's patient
    /// object keeps only its id and the time of anonymisation, and the case's message deliveries
    /// lose recipient, subject and body. Returns how many cases were anonymised; a case already
    /// anonymised is not counted again, so repeated runs are harmless.
    public static func anonymiseClosedCases(before cutoff: Date, now: Date, limit: Int, on tx: PostgresConnection) async throws -> Int {
        try await tx.query(
            """
            WITH closed AS (
                SELECT organization_id, plan_id FROM plans
                WHERE status = ANY($1::text[]) AND updated_at < $2 AND NOT (patient ? 'anonymised_at')
                ORDER BY updated_at LIMIT $4
                FOR UPDATE SKIP LOCKED
            ), anonymised AS (
                UPDATE plans p SET patient = jsonb_build_object('id', p.patient->'id', 'anonymised_at', to_jsonb($3::timestamptz))
                FROM closed c WHERE p.organization_id = c.organization_id AND p.plan_id = c.plan_id
                RETURNING p.organization_id, p.plan_id
            ), deliveries AS (
                UPDATE message_deliveries d SET recipient = '', subject = NULL, body = ''
                FROM anonymised a WHERE d.organization_id = a.organization_id AND d.plan_id = a.plan_id
                RETURNING 1
            )
            SELECT count(*) FROM anonymised
            """, closed, cutoff, now, limit)[0].decode(0, as: Int.self)
    }
}
