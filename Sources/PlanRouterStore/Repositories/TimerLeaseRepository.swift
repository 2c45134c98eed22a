import Foundation
import PlanRouterPostgres

/// Giving claimed timers back. A worker whose firing transaction rolled back (a
/// deadlock, a serialization failure, a bug) releases its leases at once, so the
/// timers are due again now instead of after the lease.
public enum TimerLeaseRepository {
    /// Clears the lease of the pending timers among `ids` that `worker` still holds;
    /// returns how many. `attempts` stays, so repeatedly failing timers show up.
    @discardableResult
    public static func release(ids: [Int64], worker: String, on conn: PostgresConnection) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await conn.execute(
            """
            UPDATE timers SET leased_until = NULL, leased_by = NULL
            WHERE id = ANY($1::int8[]) AND status = 'pending' AND leased_by = $2
            """, ids, worker)
    }
}
