extension PostgresConnection {
    /// Subscribes this session to `channel` (any string; it is quoted as an identifier).
    public func listen(_ channel: String) async throws {
        try await simpleQuery("LISTEN \(try Self.quoteIdentifier(channel))")
    }

    public func unlisten(_ channel: String) async throws {
        try await simpleQuery("UNLISTEN \(try Self.quoteIdentifier(channel))")
    }

    // Sending is a statement (`pg_notify`), so it lives with the statements that send:
    // the Store's repositories (e.g. OutboxRepository.insert).

    /// Returns the next notification, or nil when none arrives within `timeout`.
    /// Already received notifications are returned first. Other calls on this connection
    /// wait while this one is blocked on the socket; cancelling the task ends the wait with
    /// `CancellationError`, so a long timeout does not delay shutdown.
    public func waitForNotification(timeout: Duration) async throws -> PostgresNotification? {
        let wakeUp = try WakeUp()
        return try await withTaskCancellationHandler {
            try await onQueue { try $0.waitForNotification(timeout: timeout, wakeUp: wakeUp) }
        } onCancel: {
            wakeUp.signal()
        }
    }

    static func quoteIdentifier(_ identifier: String) throws -> String {
        guard !identifier.isEmpty, !identifier.utf8.contains(0) else {
            throw PostgresError(code: .invalidConfiguration, message: "channel name must be non-empty and contain no NUL")
        }
        return "\"" + identifier.replacingAll("\"", with: "\"\"") + "\""
    }
}
