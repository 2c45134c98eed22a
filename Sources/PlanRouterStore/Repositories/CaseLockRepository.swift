import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Row locks on cases (`plans` rows), always taken in one order: (organization_id,
/// plan_id) ascending. A transaction that will touch a case's timers, tasks or
/// reservations locks its cases first, in this order, so two transactions working on
/// overlapping cases wait for each other instead of deadlocking.
public enum CaseLockRepository {
    /// Locks the cases named by the pairs (duplicates allowed) `FOR UPDATE`, in key
    /// order; cases that do not exist are skipped. Returns how many were locked.
    @discardableResult
    public static func lock(organizations: [String], plans: [String], on tx: PostgresConnection) async throws -> Int {
        guard !plans.isEmpty else { return 0 }
        // With ORDER BY, PostgreSQL locks the rows as they leave the sort: in key order.
        let rows = try await tx.query(
            """
            SELECT p.organization_id, p.plan_id FROM plans p
            JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS u(o, pl) ON p.organization_id = u.o AND p.plan_id = u.pl
            ORDER BY p.organization_id, p.plan_id
            FOR UPDATE OF p
            """, organizations, plans)
        return rows.count
    }

    /// Locks locations (`FOR NO KEY UPDATE`, the mode of a calendar-version bump), in
    /// id order. Taken after the cases by a transaction that places holds, so two
    /// such transactions at one location take turns instead of waiting on each
    /// other's uncommitted holds through the exclusion constraints.
    public static func lockLocations(_ locations: [LocationKey], on tx: PostgresConnection) async throws {
        guard !locations.isEmpty else { return }
        let keys = Array(Set(locations)).sorted()
        _ = try await tx.query(
            "SELECT id FROM locations WHERE \(LocationsRepository.amongKeys) ORDER BY organization_id, id FOR NO KEY UPDATE",
            keys.map(\.organizationID), keys.map(\.locationID))
    }

    /// Locks the locations where the cases hold openings, like `lockLocations`: taken
    /// by a transaction that releases a case's holds (after locking the case), so it
    /// meets a nudge placing holds at the same location in the same order (case,
    /// location, reservations) instead of the reverse.
    public static func lockHoldLocations(organizations: [String], plans: [String], on tx: PostgresConnection) async throws {
        guard !plans.isEmpty else { return }
        _ = try await tx.query(
            """
            SELECT l.id FROM locations l
            WHERE (l.organization_id, l.id) IN (
                SELECT r.organization_id, r.location_id FROM reservations r JOIN unnest($1::text[], $2::text[]) AS u(o, p)
                ON r.organization_id = u.o AND r.plan_id = u.p WHERE r.kind = 'hold' AND r.active)
            ORDER BY l.organization_id, l.id FOR NO KEY UPDATE
            """, organizations, plans)
    }
}
