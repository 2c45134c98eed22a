import Synchronization
import Testing

@testable import PlanRouterPostgres

extension PostgresTests {
    /// `executeLater` queues writes that go to the server in one libpq pipeline with the
    /// next awaited statement or with COMMIT: one round trip instead of one per statement.
    @Suite("Postgres pipelined writes")
    struct Pipeline {
        struct Abort: Error {}

        @Test func queuedWritesAreSeenByLaterReadsAndCommittedTogether() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL)")
            let seenInside = try await connection.transaction { tx in
                try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(1), "one")
                try await tx.executeLater("UPDATE plans SET name = $2 WHERE id = $1", Int32(1), "first")
                let seen = try await tx.query("SELECT name FROM plans WHERE id = $1", Int32(1)).map { try $0.decode(0, as: String.self) }
                try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(2), "second")
                return seen
            }
            #expect(seenInside == ["first"])
            let names = try await connection.query("SELECT name FROM plans ORDER BY id").map { try $0.decode(0, as: String.self) }
            #expect(names == ["first", "second"])
        }

        @Test func aFailingQueuedWriteFailsTheTransactionUnderItsOwnStatement() async throws {
            let url = try await TestDatabase.fresh()
            let connection = try await PostgresConnection.connect(url, logger: testLogger)
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL)")
            // Surfacing at COMMIT.
            let atCommit = try await #require(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(1), "one")
                    try await tx.executeLater("INSERT INTO plans (id, name) VALUES ($1, $2)", Int32(1), "again")
                    try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(3), "three")
                }
            }
            #expect(atCommit.sqlState == "23505")
            #expect(atCommit.debugDescription.contains("INSERT INTO plans (id, name) VALUES ($1, $2)"))
            // Surfacing at the next awaited read, which is not blamed.
            let atRead = try await #require(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(4), "four")
                    try await tx.executeLater("INSERT INTO plans VALUES ($1, NULL)", Int32(5))
                    _ = try await tx.query("SELECT count(*) FROM plans")
                }
            }
            #expect(atRead.sqlState == "23502")
            #expect(atRead.debugDescription.contains("INSERT INTO plans VALUES ($1, NULL)"))
            #expect(!atRead.debugDescription.contains("count(*)"))
            // Nothing of either was kept, and the session is usable again, outside a transaction:
            // another session sees its next writes at once.
            #expect(try await connection.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self) == 0)
            try await connection.execute("INSERT INTO plans VALUES ($1, $2)", Int32(6), "six")
            try await connection.transaction { tx in try await tx.executeLater("INSERT INTO plans VALUES ($1, $2)", Int32(7), "seven") }
            let other = try await PostgresConnection.connect(url, logger: testLogger)
            defer { other.close() }
            #expect(try await other.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self) == 2)
        }

        @Test func independentReadsInOnePipelineReturnEachTheirRowsAfterTheQueuedWrites() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY, name text NOT NULL)")
            let (names, counts, empty) = try await connection.transaction { tx in
                try await tx.executeLater("INSERT INTO plans SELECT g, 'p' || g FROM generate_series(1, $1::int) AS g", Int32(5))
                let results = try await tx.query([
                    PostgresStatement("SELECT name FROM plans WHERE id <= $1 ORDER BY id", Int32(2)),
                    PostgresStatement("SELECT count(*) FROM plans"),
                    PostgresStatement("SELECT name FROM plans WHERE id > $1", Int32(100)),
                ])
                return (
                    try results[0].map { try $0.decode(0, as: String.self) }, try results[1].map { try $0.decode(0, as: Int.self) },
                    results[2].count
                )
            }
            #expect(names == ["p1", "p2"])
            #expect(counts == [5])
            #expect(empty == 0)
            // A failing read is thrown under its own statement; the reads after it do not run.
            let error = try await #require(throws: PostgresError.self) {
                try await connection.query([
                    PostgresStatement("SELECT count(*) FROM plans"),
                    PostgresStatement("SELECT 1 / (count(*) - count(*)) FROM plans"),
                    PostgresStatement("SELECT pg_sleep(5)"),
                ])
            }
            #expect(error.sqlState == "22012")
            #expect(error.debugDescription.contains("count(*) - count(*)"))
            #expect(try await connection.query([]).isEmpty)
        }

        @Test func aBodyThatThrowsDropsWhatItQueued() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
                    throw Abort()
                }
            }
            // And after a statement was sent (BEGIN went with it), the rollback ends the transaction.
            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(2))
                    _ = try await tx.query("SELECT 1")
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(3))
                    throw Abort()
                }
            }
            #expect(try await connection.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self) == 0)
        }

        @Test func rollbackActionsRunWhenTheTransactionDoesNotCommitAndOnlyThen() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            let ran = Mutex(0)
            // Committed: not run.
            try await connection.transaction { tx in
                tx.onRollback { ran.withLock { $0 += 1 } }
                try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
            }
            #expect(ran.withLock { $0 } == 0)
            // The body threw.
            await #expect(throws: Abort.self) {
                try await connection.transaction { tx in
                    tx.onRollback { ran.withLock { $0 += 1 } }
                    throw Abort()
                }
            }
            #expect(ran.withLock { $0 } == 1)
            // A queued write failed at COMMIT, after the body returned.
            await #expect(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    tx.onRollback { ran.withLock { $0 += 1 } }
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
                }
            }
            #expect(ran.withLock { $0 } == 2)
            // Outside a transaction there is nothing to roll back, and nothing is kept for later.
            connection.onRollback { ran.withLock { $0 += 100 } }
            await #expect(throws: Abort.self) {
                try await connection.transaction { _ in throw Abort() }
            }
            #expect(ran.withLock { $0 } == 2)
        }

        @Test func outsideATransactionAQueuedWriteRunsAtOnce() async throws {
            let url = try await TestDatabase.fresh()
            let connection = try await PostgresConnection.connect(url, logger: testLogger)
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            try await connection.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
            let other = try await PostgresConnection.connect(url, logger: testLogger)
            defer { other.close() }
            #expect(try await other.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self) == 1)
        }

        /// `queryLater`: a read sent with the next awaited statement, in order with the queued
        /// writes around it; its rows wait for the caller.
        @Test func aQueuedReadGoesWithTheNextAwaitedStatementInOrderWithTheQueuedWrites() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            let (carried, before, after, flushed) = try await connection.transaction { tx in
                try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
                let before = try await tx.queryLater("SELECT count(*) FROM plans")
                try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(2))
                let after = try await tx.queryLater("SELECT count(*) FROM plans")
                #expect(before.rows == nil)
                // The carrier: its own answer, and the queued read's is there without another round trip.
                let now = try await tx.query("SELECT count(*) FROM plans")[0].decode(0, as: Int.self)
                let carried = before.rows != nil && after.rows != nil
                // Nothing awaited after it: reading its rows sends the queue.
                try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(3))
                let last = try await tx.queryLater("SELECT count(*) FROM plans")
                let flushed = try await tx.rows(of: last)[0].decode(0, as: Int.self)
                #expect(now == 2)
                return (
                    carried, try await tx.rows(of: before)[0].decode(0, as: Int.self),
                    try await tx.rows(of: after)[0].decode(0, as: Int.self),
                    flushed
                )
            }
            #expect(carried)
            #expect(before == 1 && after == 2 && flushed == 3)
            // Outside a transaction it runs at once.
            let outside = try await connection.queryLater("SELECT count(*) FROM plans")
            #expect(outside.rows != nil)
            #expect(try await connection.rows(of: outside)[0].decode(0, as: Int.self) == 3)
        }

        @Test func aQueuedReadThatFailsFailsTheStatementThatCarriedIt() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let error = try await #require(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    _ = try await tx.queryLater("SELECT 1 / $1::int4", Int32(0))
                    _ = try await tx.query("SELECT 1")
                }
            }
            #expect(error.sqlState == "22012")
            #expect(error.debugDescription.contains("SELECT 1 / $1::int4"))
        }

        @Test func aConnectionLostBeforeThePipelineIsALostConnection() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE plans (id int PRIMARY KEY)")
            let pid = try await connection.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
            let admin = try await TestDatabase.connect()
            defer { admin.close() }
            _ = try await admin.query("SELECT pg_terminate_backend($1)", pid)
            let error = try await #require(throws: PostgresError.self) {
                try await connection.transaction { tx in
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(1))
                    try await tx.executeLater("INSERT INTO plans VALUES ($1)", Int32(2))
                }
            }
            #expect(error.isRetriable)
            #expect(connection.isClosed)
        }
    }
}
