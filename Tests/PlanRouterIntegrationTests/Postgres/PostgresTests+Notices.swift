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
        /// JIT compilation cost seconds per round of a statement that runs in milliseconds.
        @Test func connectionsStartWithJITOffUnlessTheCallerSaysOtherwise() async throws {
            let url = try await TestDatabase.fresh()
            let plain = try await PostgresConnection.connect(url, logger: testLogger)
            defer { plain.close() }
            #expect(try await plain.query("SHOW jit")[0].decode(0, as: String.self) == "off")
            let given = try await PostgresConnection.connect(url, settings: ["jit": "on"], logger: testLogger)
            defer { given.close() }
            #expect(try await given.query("SHOW jit")[0].decode(0, as: String.self) == "on")
            let other = try await PostgresConnection.connect(url, settings: ["application_name": "probe"], logger: testLogger)
            defer { other.close() }
            #expect(try await other.query("SHOW jit")[0].decode(0, as: String.self) == "off")
        }
    }
}
