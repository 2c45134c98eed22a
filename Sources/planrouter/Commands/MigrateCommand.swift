import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the shipped SQL migrations in order (safe to run from several processes at once).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var log: LogOptions
    @Flag(help: "Only list the migrations and whether each is applied.") var status = false

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.migrate", defaultLevel: .notice)
            let conn = try await PostgresConnection.connect(
                try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
            defer { conn.close() }
            let migrator = try Migrator(logger: logger)
            if status {
                for s in try await migrator.status(on: conn) {
                    let state = s.appliedAt.map { "applied \(RFC3339.format($0))" } ?? "pending"
                    print(String(format: "%04d  %-28@ %@", s.version, s.name as NSString, state as NSString))
                }
                return
            }
            let applied = try await migrator.migrate(on: conn)
            if applied.isEmpty {
                print("schema is up to date (\(migrator.migrations.count) migrations)")
            } else {
                for m in applied { print(String(format: "applied %04d_%@", m.version, m.name as NSString)) }
            }
        }
    }
}
