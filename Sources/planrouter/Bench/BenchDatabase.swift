import Foundation
import Logging
import PlanRouterPostgres

/// A throwaway database per benchmark run.
enum BenchDatabase {
    /// Creates `name` on the server of $PLANROUTER_DATABASE_URL (or `server`), runs `body` with
    /// its conninfo, and drops it afterwards (unless `keep`), also when `body` throws.
    static func withFresh(
        _ name: String, server: String?, keep: Bool = false, logger: Logger, _ body: (String) async throws -> Void
    ) async throws {
        guard let server = server ?? Environment.value("PLANROUTER_DATABASE_URL") else {
            throw CLIError("no database given: set --database-url or PLANROUTER_DATABASE_URL")
        }
        let admin = try await PostgresConnection.connect(server, logger: logger)
        defer { admin.close() }
        try await admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        try await admin.simpleQuery("CREATE DATABASE \(name)")
        do {
            try await body(BenchPipeline.conninfo(server, database: name))
        } catch {
            try? await admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        if keep {
            benchPrint("database \(name) kept")
        } else {
            try await admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }
}
