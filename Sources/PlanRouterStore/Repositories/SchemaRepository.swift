import Foundation
import PlanRouterPostgres

/// Questions about the database itself: is it answering, is it migrated.
public enum SchemaRepository {
    /// Whether `SELECT 1` answers.
    public static func ping(on conn: PostgresConnection) async throws -> Bool {
        try await conn.query("SELECT 1").count == 1
    }

    /// Whether the table exists in the public schema (a cheap "was `planrouter migrate` run" check).
    public static func hasTable(_ name: String, on conn: PostgresConnection) async throws -> Bool {
        let rows = try await conn.query("SELECT to_regclass('public.\(name)') IS NOT NULL")
        return try rows.first?.decode(0, as: Bool.self) == true
    }
}
