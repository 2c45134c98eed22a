import Foundation
import PlanRouterCore
import PlanRouterPostgres

extension ReservationsRepository {
    /// The booking of a refused write-back is released (its time is free again); returns whether one was.
    public static func releaseBooking(_ key: PlanKey, reason: String, now: Date, on tx: PostgresConnection) async throws -> Bool {
        try await tx.execute(
            """
            UPDATE reservations SET active = false, released_at = $3, release_reason = $4
            WHERE organization_id = $1 AND plan_id = $2 AND kind = 'booking' AND active
            """, key.organizationID, key.planID, now, reason) > 0
    }
}
