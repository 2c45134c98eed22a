import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres server notices")
    struct Notices {
        @Test func noticesGoToTheLoggerAtDebug() async throws {
            let (logger, store) = CapturingLogHandler.logger()
            let connection = try await PostgresConnection.connect(try await TestDatabase.fresh(), logger: logger)
            defer { connection.close() }
            try await connection.simpleQuery("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
            let notices = store.all.filter { $0.message == "postgres server notice" }
            #expect(notices.count == 1)
            #expect(notices.first?.level == .debug)
            #expect(notices.first?.metadata["postgres.notice.message"] == "hello from plpgsql")
            #expect(notices.first?.metadata["postgres.notice.severity"] == "NOTICE")
        }
    }

    @Suite("Postgres session defaults")
    struct SessionDefaults {
        /// `jit=off`: JIT compilation cost seconds per round of a statement that runs in
        /// milliseconds. `plan_cache_mode=auto`, stated so that a server or role setting cannot
        /// force every execution to be planned again (or none to be).
        @Test(arguments: [("jit", "off", "on"), ("plan_cache_mode", "auto", "force_custom_plan")])
        func connectionsStartWithTheDefaultUnlessTheCallerSaysOtherwise(setting: String, byDefault: String, given: String) async throws {
            let url = try await TestDatabase.fresh()
            func shown(_ settings: [String: String]) async throws -> String {
                let connection = try await PostgresConnection.connect(url, settings: settings, logger: testLogger)
                defer { connection.close() }
                return try await connection.query("SHOW \(setting)")[0].decode(0, as: String.self)
            }
            #expect(try await shown([:]) == byDefault)
            #expect(try await shown([setting: given]) == given)
            #expect(try await shown(["application_name": "probe"]) == byDefault)
        }
    }
}
