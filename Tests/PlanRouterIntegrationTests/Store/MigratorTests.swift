import Foundation
import PlanRouterPostgres
import PlanRouterStore
import Testing

@Suite struct MigratorTests {
    @Test func appliesAllThenNothing() async throws {
        let url = try await TestDatabase.fresh(prefix: "mig")
        let conn = try await PostgresConnection.connect(url, logger: testLogger)
        defer { conn.close() }
        let m = try Migrator(logger: testLogger)
        let first = try await m.migrate(on: conn)
        #expect(first.map(\.version) == m.migrations.map(\.version))
        #expect(try await m.migrate(on: conn).isEmpty)
        #expect(try await m.status(on: conn).allSatisfy { $0.appliedAt != nil })
        // The exclusion-constraint extension is in place.
        let ext = try await conn.query("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'")
        #expect(try ext[0].decode(0, as: Int.self) == 1)
    }

    @Test func twoConcurrentMigratorsApplyEachMigrationOnce() async throws {
        let url = try await TestDatabase.fresh(prefix: "mig")
        let m = try Migrator(logger: testLogger)
        async let a = Self.migrate(url, m)
        async let b = Self.migrate(url, m)
        let (ra, rb) = try await (a, b)
        // Between them, every migration was applied exactly once.
        #expect((ra + rb).sorted() == m.migrations.map(\.version))
        let conn = try await PostgresConnection.connect(url, logger: testLogger)
        defer { conn.close() }
        let rows = try await conn.query("SELECT count(*) FROM schema_migrations")
        #expect(try rows[0].decode(0, as: Int.self) == m.migrations.count)
    }

    static func migrate(_ url: String, _ m: Migrator) async throws -> [Int] {
        let conn = try await PostgresConnection.connect(url, logger: testLogger)
        defer { conn.close() }
        return try await m.migrate(on: conn).map(\.version)
    }

    @Test func editedMigrationIsRefused() async throws {
        let url = try await MigratedDatabase.fresh()
        let conn = try await PostgresConnection.connect(url, logger: testLogger)
        defer { conn.close() }
        _ = try await conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        await #expect(throws: Migrator.MigrationError.self) { try await Migrator(logger: testLogger).migrate(on: conn) }
    }
}
