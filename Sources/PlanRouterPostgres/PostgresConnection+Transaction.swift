extension PostgresConnection {
    /// Runs `body` inside BEGIN/COMMIT. A thrown error rolls back and is rethrown; a failed
    /// COMMIT (e.g. a serialization failure, retriable) is thrown.
    ///
    /// BEGIN waits to be sent with the body's first statement, and the statements the body
    /// queued with `executeLater` go with COMMIT: a transaction of reads followed by writes
    /// costs one round trip per awaited read plus one.
    public func transaction<T: Sendable>(
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        beginTransaction()
        let value: T
        do {
            value = try await body(self)
        } catch {
            // BEGIN still queued: the server never saw the transaction.
            let begun = takePending().first?.sql != "BEGIN"
            for action in endTransaction() { action() }
            do {
                if begun { try await simpleQuery("ROLLBACK") }
            } catch let rollbackError {
                // The body's error is the one the caller can act on; a failed rollback usually
                // means the connection is gone, which `isClosed` reports to the pool.
                logger.debug("postgres rollback failed", metadata: ["error.message": "\(rollbackError)"])
            }
            throw error
        }
        let statements = takePending() + [PostgresStatement(sql: "COMMIT", binds: [])]
        let rollbackActions = endTransaction()
        let storage: PostgresResultStorage
        do {
            storage = try await runPipeline(statements, keeping: 1)[0]
        } catch {
            for action in rollbackActions { action() }
            // A queued statement failed: the transaction is aborted and must be ended.
            if (error as? PostgresError)?.code != .connectionLost { try? await simpleQuery("ROLLBACK") }
            throw error
        }
        // COMMIT of a transaction in which a statement failed (and the body swallowed the
        // error) succeeds with the tag ROLLBACK; nothing was committed, so say so.
        if storage.commandStatus == "ROLLBACK" {
            for action in rollbackActions { action() }
            throw PostgresError(
                code: .server,
                sqlState: "25P02",
                message: "transaction was rolled back because a statement in it failed"
            )
        }
        return value
    }
}
