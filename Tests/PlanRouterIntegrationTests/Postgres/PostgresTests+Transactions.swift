import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres transactions")
    struct Transactions {
        struct Abort: Error {}

        @Test func commitsOnSuccessAndRollsBackOnThrow() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL)")

            let inserted = try await connection.transaction { tx in
                try await tx.execute("INSERT INTO plans VALUES ($1, $2)", Int32(1), "kept")
            }
            #expect(inserted == 1)

            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    try await tx.execute("INSERT INTO plans VALUES ($1, $2)", Int32(2), "discarded")
                    throw Abort()
                }
            }
            let names = try await connection.query("SELECT name FROM plans ORDER BY id").map { try $0.decode(0, as: String.self) }
            #expect(names == ["kept"])
        }

        @Test func swallowedStatementErrorMakesCommitThrow() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            let error = try await #require(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    try await tx.execute("INSERT INTO plans VALUES ($1)", Int32(1))
                    _ = try? await tx.execute("INSERT INTO plans VALUES ($1)", Int32(1))
                }
            }
            #expect(error.sqlState == "25P02")
            let count = try await connection.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self)
            #expect(count == 0)
            // The session is usable again afterwards.
            try await connection.execute("INSERT INTO plans VALUES ($1)", Int32(1))
        }

        @Test func simpleQueryRunsSeveralStatements() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery(
                """
                CREATE TABLE a (x int);
                INSERT INTO a VALUES (1), (2);
                RAISE_NOTICE_PLACEHOLDER;
                """.replacingOccurrences(of: "RAISE_NOTICE_PLACEHOLDER", with: "DO $$ BEGIN RAISE NOTICE 'goes to the logger'; END $$"))
            let rows = try await connection.query("SELECT sum(x) FROM a")
            #expect(try rows[0].decode(0, as: Int.self) == 3)
            let deleted = try await connection.execute("DELETE FROM a WHERE x > $1", 0)
            #expect(deleted == 2)
        }
    }
}
