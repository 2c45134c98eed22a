import Testing

@testable import PlanRouterPostgres

extension PostgresTests {
    /// A session prepares each parameterised statement once (`PreparedStatementCache`) and
    /// then sends only its name: the server parses and analyzes it once per session.
    @Suite("Postgres prepared statements")
    struct Prepared {
        /// How many times the session holds `sql` as a protocol-level prepared statement.
        /// This read has no parameters, so it is sent unnamed and never counts itself.
        static func preparedCount(_ sql: String, on connection: PostgresConnection) async throws -> Int {
            try await connection.query("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
                .map { try $0.decode(0, as: String.self) }.filter { $0 == sql }.count
        }

        @Test func aStatementRunManyTimesIsPreparedOnceAndAnswersEachTimeWithItsOwnValues() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let sql = "SELECT $1::int4 * 2"
            var answers: [Int] = []
            for value in Int32(1)...3 {
                answers.append(try await connection.query(sql, value)[0].decode(0, as: Int.self))
            }
            try await connection.transaction { tx in
                try await tx.executeLater(sql, Int32(9))
                answers.append(try await tx.query(sql, Int32(4))[0].decode(0, as: Int.self))
            }
            #expect(answers == [2, 4, 6, 8])
            #expect(try await Self.preparedCount(sql, on: connection) == 1)
            // Statements without parameters (BEGIN, COMMIT, migrations) are not prepared.
            #expect(try await Self.preparedCount("BEGIN", on: connection) == 0)
        }

        @Test func aNewStatementTwiceInOnePipelineIsPreparedOnce() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let sql = "SELECT $1::text || '!'"
            let results = try await connection.query([PostgresStatement(sql, "a"), PostgresStatement(sql, "b")])
            #expect(try results.map { try $0[0].decode(0, as: String.self) } == ["a!", "b!"])
            #expect(try await Self.preparedCount(sql, on: connection) == 1)
        }

        @Test func theSameTextWithOtherParameterTypesIsItsOwnStatement() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let sql = "SELECT $1 IS NULL"
            #expect(try await connection.query(sql, Int32(1))[0].decode(0, as: Bool.self) == false)
            #expect(try await connection.query(sql, "x")[0].decode(0, as: Bool.self) == false)
            #expect(try await Self.preparedCount(sql, on: connection) == 2)
        }

        @Test func aStatementTheServerRefusesIsNotRecordedAndFailsUnderItsOwnText() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let broken = "SELECT $1::int4 FROM no_such_table"
            for _ in 0..<2 {
                let error = try await #require(throws: PostgresError.self) { try await connection.query(broken, Int32(1)) }
                #expect(error.sqlState == "42P01")
                #expect(error.debugDescription.contains(broken))
            }
            #expect(try await Self.preparedCount(broken, on: connection) == 0)
        }

        @Test func aStatementSkippedAfterAnEarlierFailureIsPreparedWhenItNextRuns() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let later = "SELECT $1::int4 + 100"
            // The failure aborts the pipeline, so the later statement's Parse never reaches the
            // server; recording it anyway would make its next use fail with 26000.
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query([PostgresStatement("SELECT 1 / $1::int4", Int32(0)), PostgresStatement(later, Int32(1))])
            }
            #expect(error.sqlState == "22012")
            #expect(try await Self.preparedCount(later, on: connection) == 0)
            #expect(try await connection.query(later, Int32(1))[0].decode(0, as: Int.self) == 101)
            #expect(try await Self.preparedCount(later, on: connection) == 1)
        }

        @Test func aStatementPreparedInATransactionThatRolledBackStaysUsable() async throws {
            struct Abort: Error {}
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let sql = "SELECT $1::int4 - 1"
            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    #expect(try await tx.query(sql, Int32(5))[0].decode(0, as: Int.self) == 4)
                    throw Abort()
                }
            }
            #expect(try await connection.query(sql, Int32(7))[0].decode(0, as: Int.self) == 6)
            #expect(try await Self.preparedCount(sql, on: connection) == 1)
        }

        @Test func aStatementThatAsksToBePlannedForItsValuesIsNeverPrepared() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let sql = PostgresStatement.plannedForValues + "SELECT count(*) FROM generate_series(1, 10) s WHERE s <= $1::int4"
            var answers: [Int] = []
            for limit in Int32(1)...7 {
                answers.append(try await connection.query(sql, limit)[0].decode(0, as: Int.self))
            }
            #expect(answers == [1, 2, 3, 4, 5, 6, 7])
            #expect(try await Self.preparedCount(sql, on: connection) == 0)
        }

        /// `PostgresConnection.defaultReplanInterval`: kept plans are made again from time to
        /// time, between transactions only.
        @Test func statementsAreForgottenOnceTheIntervalHasPassedButNeverInsideATransaction() async throws {
            let url = try await TestDatabase.fresh()
            let connection = try await PostgresConnection.connect(url, replanEvery: .seconds(1), logger: testLogger)
            defer { connection.close() }
            let first = "SELECT $1::int4 + 1"
            let second = "SELECT $1::int4 + 2"
            #expect(try await connection.query(first, Int32(1))[0].decode(0, as: Int.self) == 2)
            try await connection.transaction { tx in
                _ = try await tx.query(first, Int32(1))
                try await Task.sleep(for: .milliseconds(1_100))
                // Past the interval, but the transaction is open: nothing is forgotten.
                #expect(try await tx.query(second, Int32(1))[0].decode(0, as: Int.self) == 3)
                #expect(try await Self.preparedCount(first, on: tx) == 1)
            }
            // The next statement after the transaction starts a fresh set, and still answers.
            #expect(try await connection.query(second, Int32(5))[0].decode(0, as: Int.self) == 7)
            #expect(try await Self.preparedCount(first, on: connection) == 0)
            #expect(try await Self.preparedCount(second, on: connection) == 1)
            // Within the interval they are kept.
            #expect(try await connection.query(first, Int32(5))[0].decode(0, as: Int.self) == 6)
            #expect(try await Self.preparedCount(second, on: connection) == 1)
        }

        @Test func aTableChangingShapeUnderAStatementFailsItOnceAsRetriableThenItIsPreparedAgain() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery(
                "CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL); INSERT INTO plans VALUES (1, 'one')")
            let sql = "SELECT * FROM plans WHERE id = $1"
            #expect(try await connection.query(sql, Int32(1)).columnNames == ["id", "name"])
            try await connection.simpleQuery("ALTER TABLE plans ADD COLUMN tier text")
            let error = try await #require(throws: PostgresError.self) { try await connection.query(sql, Int32(1)) }
            #expect(error.sqlState == "0A000")
            // A worker retries its transaction on this, as on a lost connection, and the retry
            // prepares the statement again instead of dead-lettering the event.
            #expect(error.isRetriable)
            #expect(!error.isRefusal)
            #expect(try await connection.query(sql, Int32(1)).columnNames == ["id", "name", "tier"])
            // A genuine refusal with the same SQLSTATE is still a refusal, never retried.
            let other = try await #require(throws: PostgresError.self) {
                try await connection.query("SELECT count(*) FROM plans WHERE id = $1 FOR UPDATE", Int32(1))
            }
            #expect(other.sqlState == "0A000")
            #expect(other.isRefusal)
            #expect(!other.isRetriable)
        }
    }
}
