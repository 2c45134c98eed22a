import Foundation
import Logging
import PlanRouterPostgres
import PlanRouterStore

/// Fresh databases with the PlanRouter schema, cloned from a template migrated once per run.
enum MigratedDatabase {
    private static let template = TemplateOnce()

    /// A new, migrated database; returns its conninfo.
    static func fresh(prefix: String = "pr") async throws -> String {
        let server = try TestDatabase.serverURL()
        let tmpl = try await template.name(server: server)
        let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try await PostgresConnection.connect(server, logger: testLogger)
        defer { admin.close() }
        try await admin.simpleQuery("CREATE DATABASE \(name) TEMPLATE \(tmpl)")
        return TestDatabase.conninfo(server, database: name)
    }
}

/// Migrates the template database once per test process. The work is one shared
/// task: an actor alone would let concurrent callers in at each `await`.
actor TemplateOnce {
    private var task: Task<String, any Error>?

    func name(server: String) async throws -> String {
        if task == nil { task = Task { try await Self.create(server: server) } }
        return try await task!.value
    }

    private static func create(server: String) async throws -> String {
        let name = "planrouter_tmpl_\(ProcessInfo.processInfo.processIdentifier)"
        let admin = try await PostgresConnection.connect(server, logger: testLogger)
        try await admin.simpleQuery("DROP DATABASE IF EXISTS \(name)")
        try await admin.simpleQuery("CREATE DATABASE \(name)")
        admin.close()
        let conn = try await PostgresConnection.connect(TestDatabase.conninfo(server, database: name), logger: testLogger)
        try await Migrator(logger: testLogger).migrate(on: conn)
        conn.close()
        return name
    }
}

let testLogger: Logger = {
    var l = Logger(label: "planrouter.tests")
    l.logLevel = ProcessInfo.processInfo.environment["PLANROUTER_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
    return l
}()
