import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The simulation clock: "now" is the single row of `sim_clock`, which the
/// simulator advances. Workers started with `--clock simulated` use it, so the
/// simulation drives the same code paths as production.
public struct DatabaseClock: PlanRouterClock {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func now() async throws -> Date {
        try await pool.withConnection { conn in
            let rows = try await conn.query("SELECT now FROM sim_clock")
            guard let row = rows.first else {
                throw ClockError(
                    description:
                        "the simulated clock is not set (sim_clock is empty): set it first (the simulator does) or run with --clock wall")
            }
            return try row.decode(0, as: Date.self)
        }
    }

    /// Sets the simulated time (used by the simulator).
    public static func set(_ date: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute(
            "INSERT INTO sim_clock (id, now) VALUES (true, $1) ON CONFLICT (id) DO UPDATE SET now = EXCLUDED.now", date)
    }
}

public struct ClockError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
