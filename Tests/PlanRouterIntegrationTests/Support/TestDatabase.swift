import Foundation
import Logging
import PlanRouterPostgres

/// Databases for integration tests: each test gets its own, so tests run in parallel
/// without seeing each other's rows.
enum TestDatabase {
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "PLANROUTER_DATABASE_URL is not set; start services with scripts/services up"
        }
    }

    static let logger = Logger(label: "planrouter.tests.postgres")

    /// PLANROUTER_DATABASE_URL, or a failing error saying "start services with scripts/services up" when unset.
    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PLANROUTER_DATABASE_URL"], !url.isEmpty else {
            throw NotConfigured()
        }
        return url
    }

    /// Creates a fresh, uniquely named database on that server and returns a conninfo for it.
    ///
    /// Names are "<prefix>_<unix seconds>_<random>"; databases of this shape older than an hour
    /// are dropped here, since Swift Testing has no async teardown to drop them after each test.
    static func fresh(prefix: String = "t") async throws -> String {
        let server = try serverURL()
        let now = Int(Date().timeIntervalSince1970)
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(8)
        let name = "\(prefix)_\(now)_\(random)"
        let admin = try await PostgresConnection.connect(server, logger: logger)
        defer { admin.close() }
        try await dropStale(pattern: "^\(NSRegularExpression.escapedPattern(for: prefix))_[0-9]+_[0-9a-f]{8}$", now: now, admin: admin)
        // Identifiers cannot be bound; `name` is generated above from [a-z0-9_] only.
        try await admin.simpleQuery("CREATE DATABASE \"\(name)\"")
        return conninfo(server, database: name)
    }

    /// Drops the databases whose names match `pattern` (a generated shape ending in
    /// "_<unix seconds>_<8 hex>") and whose stamp is more than an hour old.
    static func dropStale(pattern: String, now: Int, admin: PostgresConnection) async throws {
        let rows = try await admin.query("SELECT datname FROM pg_database WHERE datname ~ $1", pattern)
        for row in rows {
            let name = try row.decode(0, as: String.self)
            guard let created = Int(name.split(separator: "_").dropLast().last ?? ""), now - created > 3600 else {
                continue
            }
            // Matched the generated shape above, so it is safe to splice as an identifier.
            try? await admin.simpleQuery("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        }
    }

    /// The same server and credentials with another database name, for URI or key=value forms.
    static func conninfo(_ server: String, database: String) -> String {
        if server.hasPrefix("postgres://") || server.hasPrefix("postgresql://"),
            var components = URLComponents(string: server)
        {
            components.path = "/\(database)"
            return components.string ?? server
        }
        // In key=value strings the last occurrence of a keyword wins.
        return "\(server) dbname=\(database)"
    }

    /// Connects to a fresh database.
    static func connect(prefix: String = "t") async throws -> PostgresConnection {
        try await PostgresConnection.connect(try await fresh(prefix: prefix), logger: logger)
    }
}
