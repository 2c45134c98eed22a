import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres pool")
    struct Pool {
        @Test func runsMoreTasksThanConnections() async throws {
            let pool = PostgresPool(conninfo: try await TestDatabase.fresh(), size: 3, logger: TestDatabase.logger)
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try await connection.query("SELECT $1 + 1, pg_sleep(0.005)", index)[0].decode(0, as: Int.self)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.sorted() == Array(1...40))
            let backends = try await pool.withConnection { connection in
                try await connection.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")[0].decode(0, as: Int.self)
            }
            #expect(backends <= 3)
            await pool.close()
            await #expect(throws: PostgresError.self) {
                try await pool.withConnection { _ in 1 }
            }
        }

        @Test func brokenConnectionIsReplaced() async throws {
            let pool = PostgresPool(conninfo: try await TestDatabase.fresh(), size: 1, logger: TestDatabase.logger)
            let error = try await #require(throws: PostgresError.self) {
                try await pool.withConnection { connection in
                    try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())")
                }
            }
            #expect(error.code == .connectionLost)
            let value = try await pool.withConnection { connection in
                try await connection.query("SELECT 42")[0].decode(0, as: Int32.self)
            }
            #expect(value == 42)
            await pool.close()
        }

        @Test func transactionLeftOpenIsNotReused() async throws {
            let pool = PostgresPool(conninfo: try await TestDatabase.fresh(), size: 1, logger: TestDatabase.logger)
            try await pool.withConnection { connection in
                try await connection.simpleQuery("CREATE TABLE t (x int)")
                try await connection.simpleQuery("BEGIN")
                try await connection.execute("INSERT INTO t VALUES ($1)", Int32(1))
            }
            let count = try await pool.withTransaction { connection in
                try await connection.query("SELECT count(*) FROM t")[0].decode(0, as: Int.self)
            }
            #expect(count == 0)
            await pool.close()
        }
    }
}
