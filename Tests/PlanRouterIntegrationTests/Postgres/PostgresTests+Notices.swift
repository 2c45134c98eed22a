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
}
