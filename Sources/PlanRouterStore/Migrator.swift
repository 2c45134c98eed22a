import Foundation
import Logging
import PlanRouterPostgres

/// Applies the versioned SQL files shipped in `Migrations/` (`NNNN_name.sql`) in
/// order, each in its own transaction, recorded in `schema_migrations`.
/// A session advisory lock makes concurrent migrators take turns; the second
/// finds nothing left to do.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var sql: String
        public var checksum: String
    }

    public struct Status: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var appliedAt: Date?
    }

    public struct MigrationError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Arbitrary but fixed: every PlanRouter migrator takes this advisory lock.
    static let lockKey: Int64 = 0x706C_616E_726F_7574  // "planrout"

    public let migrations: [Migration]
    let logger: Logger

    public init(logger: Logger) throws {
        self.logger = logger
        migrations = try Migrator.shipped()
    }

    static func shipped() throws -> [Migration] {
        guard let dir = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw MigrationError(description: "migrations are missing from the installation (Migrations resource not found)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".sql") }.sorted()
        var out: [Migration] = []
        for f in files {
            guard let version = Int(f.prefix { $0.isNumber }) else { continue }
            let sql = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            let name = String(f.dropFirst(f.prefix { $0.isNumber }.count + 1).dropLast(4))
            out.append(Migration(version: version, name: name, sql: sql, checksum: Migrator.checksum(sql)))
        }
        let versions = out.map(\.version)
        guard Set(versions).count == versions.count else { throw MigrationError(description: "two migrations share a version") }
        return out
    }

    /// FNV-1a 64 of the file: enough to notice that an applied migration was edited.
    static func checksum(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h &*= 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }

    static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     int PRIMARY KEY,
            name        text NOT NULL,
            checksum    text NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )
        """

    /// Applies every pending migration; returns the ones applied by this call.
    @discardableResult
    public func migrate(on conn: PostgresConnection) async throws -> [Migration] {
        _ = try await conn.query("SELECT pg_advisory_lock($1)", Migrator.lockKey)
        do {
            let applied = try await migrateLocked(conn)
            _ = try await conn.query("SELECT pg_advisory_unlock($1)", Migrator.lockKey)
            return applied
        } catch {
            _ = try? await conn.query("SELECT pg_advisory_unlock($1)", Migrator.lockKey)
            throw error
        }
    }

    private func migrateLocked(_ conn: PostgresConnection) async throws -> [Migration] {
        try await conn.simpleQuery(Migrator.createTable)
        let done = try await appliedChecksums(conn)
        for m in migrations {
            if let sum = done[m.version], sum != m.checksum {
                throw MigrationError(
                    description: "migration \(m.version)_\(m.name) was changed after it was applied; add a new migration instead")
            }
        }
        var applied: [Migration] = []
        for m in migrations where done[m.version] == nil {
            logger.info("applying migration", metadata: ["migration.version": "\(m.version)", "migration.name": "\(m.name)"])
            try await conn.transaction { tx in
                try await tx.simpleQuery(m.sql)
                _ = try await tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", m.version, m.name, m.checksum)
            }
            applied.append(m)
        }
        return applied
    }

    private func appliedChecksums(_ conn: PostgresConnection) async throws -> [Int: String] {
        var out: [Int: String] = [:]
        for row in try await conn.query("SELECT version, checksum FROM schema_migrations") {
            out[try row.decode(0, as: Int.self)] = try row.decode(1, as: String.self)
        }
        return out
    }

    /// Every shipped migration with when it was applied (nil = pending).
    public func status(on conn: PostgresConnection) async throws -> [Status] {
        try await conn.simpleQuery(Migrator.createTable)
        var applied: [Int: Date] = [:]
        for row in try await conn.query("SELECT version, applied_at FROM schema_migrations") {
            applied[try row.decode(0, as: Int.self)] = try row.decode(1, as: Date.self)
        }
        return migrations.map { Status(version: $0.version, name: $0.name, appliedAt: applied[$0.version]) }
    }
}
