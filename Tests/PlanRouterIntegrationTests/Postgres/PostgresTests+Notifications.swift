import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres LISTEN/NOTIFY")
    struct Notifications {
        @Test func notificationReachesListener() async throws {
            let conninfo = try await TestDatabase.fresh()
            let listener = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            let sender = try await PostgresConnection.connect(conninfo, logger: TestDatabase.logger)
            defer {
                listener.close()
                sender.close()
            }
            let channel = "plan \"changes\"; DROP TABLE x"
            try await listener.listen(channel)
            #expect(try await listener.waitForNotification(timeout: .milliseconds(10)) == nil)

            try await sender.notify(channel, payload: "first")
            try await sender.notify(channel, payload: "second 'quoted'")
            let first = try #require(try await listener.waitForNotification(timeout: .seconds(30)))
            #expect(first.channel == channel)
            #expect(first.payload == "first")
            let senderPID = try await sender.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
            #expect(first.processID == senderPID)
            let second = try #require(try await listener.waitForNotification(timeout: .seconds(30)))
            #expect(second.payload == "second 'quoted'")
        }

        @Test func queuedNotificationsAreReturnedFirst() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.listen("self")
            // Notifications sent in a transaction are delivered at commit, with the query result.
            try await connection.transaction { tx in
                try await tx.notify("self", payload: "a")
                try await tx.notify("self", payload: "b")
            }
            let a = try await connection.waitForNotification(timeout: .seconds(30))
            let b = try await connection.waitForNotification(timeout: .seconds(30))
            #expect([a?.payload, b?.payload] == ["a", "b"])
        }
    }
}

extension PostgresTests.Notifications {
    @Test func cancellingTheTaskEndsTheWait() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        try await connection.listen("nobody-sends")
        let waiter = Task { try await connection.waitForNotification(timeout: .seconds(3600)) }
        // Usually lets the wait reach poll(2), to exercise the wake-up pipe; correct either way.
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        // The connection still works afterwards.
        #expect(try await connection.query("SELECT 1").count == 1)
    }
}

extension PostgresConnection {
    /// Sends a notification the way the Store's repositories do: bound parameters through `pg_notify`.
    fileprivate func notify(_ channel: String, payload: String) async throws {
        try await query("SELECT pg_notify($1, $2)", channel, payload)
    }
}
