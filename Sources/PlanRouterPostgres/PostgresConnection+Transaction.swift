extension PostgresConnection {
    /// Runs `body` inside BEGIN/COMMIT. A thrown error rolls back and is rethrown; a failed
    /// COMMIT (e.g. a serialization failure, retriable) is thrown.
    public func transaction<T: Sendable>(
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await simpleQuery("BEGIN")
        let value: T
        do {
            value = try await body(self)
        } catch {
            do {
                try await simpleQuery("ROLLBACK")
            } catch let rollbackError {
                // The body's error is the one the caller can act on; a failed rollback usually
                // means the connection is gone, which `isClosed` reports to the pool.
                logger.debug("postgres rollback failed", metadata: ["error.message": "\(rollbackError)"])
            }
            throw error
        }
        let storage = try await onQueue { try $0.execSimple("COMMIT") }
        // COMMIT of a transaction in which a statement failed (and the body swallowed the
        // error) succeeds with the tag ROLLBACK; nothing was committed, so say so.
        if storage.commandStatus == "ROLLBACK" {
            throw PostgresError(
                code: .server,
                sqlState: "25P02",
                message: "transaction was rolled back because a statement in it failed"
            )
        }
        return value
    }
}
