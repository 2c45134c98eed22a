import Logging
import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres errors")
    struct Errors {
        @Test func uniqueViolationExposesSQLStateButNotValues() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE people (email text PRIMARY KEY)")
            let secret = "patient-4711@example.org"
            try await connection.execute("INSERT INTO people (email) VALUES ($1)", secret)
            let error = try await #require(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO people (email) VALUES ($1)", secret)
            }
            #expect(error.code == .server)
            #expect(error.sqlState == "23505")
            #expect(error.constraintName == "people_pkey")
            #expect(!error.isRetriable)
            #expect(error.description.hasPrefix("server: 23505 duplicate key value violates unique constraint"))
            #expect(!error.description.contains(secret))
            #expect(!error.message.contains(secret))
            // DETAIL ("Key (email)=(…) already exists.") is for debugging only.
            #expect(error.debugDescription.contains("DETAIL"))
        }

        @Test func invalidInputMessageDoesNotEchoTheValue() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let secret = "not-a-number-secret"
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT $1::text::int4", secret)
            }
            #expect(error.sqlState == "22P02")
            #expect(!error.description.contains(secret))
            #expect(error.description.contains("invalid input syntax for type integer"))
        }

        @Test func serializationFailureIsRetriable() async throws {
            let conninfo = try await TestDatabase.fresh()
            let setup = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            defer { setup.close() }
            try await setup.simpleQuery(
                "CREATE TABLE doctors (id int PRIMARY KEY, on_call bool NOT NULL); INSERT INTO doctors VALUES (1, true), (2, true)")
            let first = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            let second = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            defer {
                first.close()
                second.close()
            }
            // Write skew: each transaction reads the row the other one writes.
            try await first.simpleQuery("BEGIN ISOLATION LEVEL SERIALIZABLE")
            try await second.simpleQuery("BEGIN ISOLATION LEVEL SERIALIZABLE")
            _ = try await first.query("SELECT on_call FROM doctors WHERE id = $1", 2)
            _ = try await second.query("SELECT on_call FROM doctors WHERE id = $1", 1)
            try await first.execute("UPDATE doctors SET on_call = false WHERE id = $1", 1)
            try await first.simpleQuery("COMMIT")
            let error = try await #require(throws: PostgresError.self) {
                try await second.execute("UPDATE doctors SET on_call = false WHERE id = $1", 2)
                try await second.simpleQuery("COMMIT")
            }
            #expect(error.sqlState == "40001")
            #expect(error.code == .server)
            #expect(error.isRetriable)
        }

        @Test func deadlockIsRetriable() async throws {
            let conninfo = try await TestDatabase.fresh()
            let first = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            let second = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            defer {
                first.close()
                second.close()
            }
            try await first.simpleQuery(
                "CREATE TABLE beds (id int PRIMARY KEY, taken bool); INSERT INTO beds VALUES (1, false), (2, false)")
            for connection in [first, second] {
                try await connection.simpleQuery("SET deadlock_timeout = '50ms'; BEGIN")
            }
            try await first.execute("UPDATE beds SET taken = true WHERE id = $1", 1)
            try await second.execute("UPDATE beds SET taken = true WHERE id = $1", 2)
            async let a: PostgresError? = Self.failure { try await first.execute("UPDATE beds SET taken = true WHERE id = $1", 2) }
            async let b: PostgresError? = Self.failure { try await second.execute("UPDATE beds SET taken = true WHERE id = $1", 1) }
            let failures = [await a, await b].compactMap { $0 }
            #expect(failures.count == 1)
            #expect(failures.first?.sqlState == "40P01")
            #expect(failures.first?.isRetriable == true)
        }

        private static func failure(_ body: () async throws -> Void) async -> PostgresError? {
            do {
                try await body()
                return nil
            } catch let error as PostgresError {
                return error
            } catch {
                return PostgresError(code: .server, message: "unexpected \(error)")
            }
        }

        @Test func terminatedBackendIsConnectionLost() async throws {
            let conninfo = try await TestDatabase.fresh()
            let victim = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            let killer = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            defer {
                victim.close()
                killer.close()
            }
            let pid = try await victim.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
            try await killer.query("SELECT pg_terminate_backend($1)", pid)
            let error = try await #require(throws: PostgresError.self) {
                try await victim.query("SELECT 1")
            }
            #expect(error.code == .connectionLost)
            #expect(error.isRetriable)
            #expect(victim.isClosed)
        }
    }
}
