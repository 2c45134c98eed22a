import Foundation
import Logging
import PlanRouterPostgres
import PlanRouterStore

/// Fresh databases with the PlanRouter schema, cloned from a template migrated once per run.
enum MigratedDatabase {
    private static let template = TemplateOnce()

    /// A new, migrated database; returns its conninfo.
    ///
    /// Named like `TestDatabase.fresh`'s ("<prefix>_<unix seconds>_<random>") so that the
    /// stale ones are dropped: Swift Testing has no async teardown, and a suite run leaves
    /// a few hundred of these behind (~10 MB each).
    static func fresh(prefix: String = "pr") async throws -> String {
        let server = try TestDatabase.serverURL()
        let tmpl = try await template.name(server: server)
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(8)
        let name = "\(prefix)_\(Int(Date().timeIntervalSince1970))_\(random)"
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
        let now = Int(Date().timeIntervalSince1970)
        let name = "planrouter_tmpl_\(now)_\(String(format: "%08x", UInt32(truncatingIfNeeded: ProcessInfo.processInfo.processIdentifier)))"
        let admin = try await PostgresConnection.connect(server, logger: testLogger)
        // Once per test process: the databases earlier runs left (any prefix, and their
        // templates), more than an hour old so a concurrent run's are never touched.
        try await TestDatabase.dropStale(
            pattern: "^[a-z]+_[0-9]+_[0-9a-f]{8}$|^planrouter_tmpl_[0-9]+_[0-9a-f]{8}$", now: now, admin: admin)
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
