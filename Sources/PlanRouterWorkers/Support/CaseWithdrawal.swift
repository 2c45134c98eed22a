import Foundation
import PlanRouterPostgres
import PlanRouterStore

/// Ends what a case has running when it is booked, closed or starts over: its holds are
/// released (and their locations' calendars marked changed, so offer workers reload
/// them), its pending ladder timers and its open coordinator tasks are cancelled.
/// One place for the classifier (re-classification), the lifecycle consumer and the
/// booking service.
public enum CaseWithdrawal {
    public static func withdraw(
        organizations: [String], plans: [String], holdReason: String, taskOutcome: String, exceptTask: Int64? = nil, now: Date,
        in tx: PostgresConnection
    ) async throws {
        guard !plans.isEmpty else { return }
        // Lock order (CaseLockRepository): case, then location, then its reservations.
        try await CaseLockRepository.lockHoldLocations(organizations: organizations, plans: plans, on: tx)
        let released = try await tx.query(
            """
            UPDATE reservations r SET active = false, released_at = $3, release_reason = $4
            FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE r.organization_id = u.o AND r.plan_id = u.p AND r.kind = 'hold' AND r.active
            RETURNING r.location_id
            """, organizations, plans, now, holdReason)
        try await AvailabilityMirror.bumpCalendars(Array(Set(try released.map { try $0.decode(0, as: String.self) })), in: tx)
        _ = try await tx.execute(
            """
            UPDATE timers t SET status = 'cancelled' FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE t.organization_id = u.o AND t.plan_id = u.p AND t.status = 'pending'
            """, organizations, plans)
        _ = try await tx.execute(
            """
            UPDATE coordinator_tasks c SET status = 'cancelled', outcome = $3, resolved_at = $4
            FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE c.organization_id = u.o AND c.plan_id = u.p AND c.status = 'open' AND c.id <> $5
            """, organizations, plans, taskOutcome, now, exceptTask ?? -1)
    }
}
