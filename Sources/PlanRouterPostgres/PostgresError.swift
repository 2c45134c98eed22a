/// An error from the PostgreSQL client.
///
/// `description` is safe to log: it carries the error code, SQLSTATE and the server's
/// primary message only. Parameter values, the DETAIL field and connection strings are
/// never part of it; `debugDescription` adds detail, hint and the SQL text for debugging.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. A struct over a private enum so codes can be added
    /// without breaking exhaustive switches in callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration, connectionFailed, connectionLost, server, decoding, poolClosed, timeout
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection string (or another argument) is malformed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A new connection could not be established.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke during or before a call.
        public static let connectionLost = Code(.connectionLost)
        /// The server rejected a statement; `sqlState` says why.
        public static let server = Code(.server)
        /// A result value could not be converted to the requested Swift type.
        public static let decoding = Code(.decoding)
        /// The pool was closed before or while waiting for a connection.
        public static let poolClosed = Code(.poolClosed)
        /// An operation did not finish in time.
        public static let timeout = Code(.timeout)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE for server errors, e.g. "40001".
    public var sqlState: String?
    /// The primary message, stripped of values the server quotes from the input.
    public var message: String
    /// The violated constraint for integrity errors (class 23); names are schema, not data.
    public var constraintName: String?

    // Only in debugDescription: these may echo data (DETAIL quotes key values).
    var detail: String?
    var hint: String?
    var query: String?
    /// A named prepared statement no longer matched the server's (see `PreparedStatementCache`):
    /// the connection has forgotten its statements, so the same work succeeds when retried.
    var staleStatement = false

    public init(code: Code, sqlState: String? = nil, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// Whether retrying the whole unit of work (usually the transaction) may succeed: the
    /// connection failed or was lost (whether libpq had already marked it bad or only
    /// reported it, without a SQLSTATE, e.g. "server closed the connection unexpectedly"),
    /// a connection exception (class 08), the server shutting down (57P01-03), a
    /// concurrency failure, or a prepared statement the session no longer matches.
    public var isRetriable: Bool {
        if code == .connectionFailed || code == .connectionLost || staleStatement { return true }
        guard let sqlState else { return code == .server && Self.isConnectionLevel(message: message) }
        switch sqlState {
        case "40001",  // serialization_failure
            "40P01",  // deadlock_detected
            "55P03",  // lock_not_available
            "57P01",  // admin_shutdown
            "57P02",  // crash_shutdown
            "57P03":  // cannot_connect_now
            return true
        default:
            return sqlState.hasPrefix("08")  // connection exceptions
        }
    }

    /// Whether the server refused the statement on its own terms: an error with a SQLSTATE
    /// that is not transient, or a result the caller cannot decode. Only a refusal may be
    /// blamed on the input (e.g. dead-lettered); a lost connection never is.
    public var isRefusal: Bool {
        if code == .decoding { return true }
        return code == .server && sqlState != nil && !isRetriable
    }

    /// What a refusal says about the input, safe to store and show: the SQLSTATE, the
    /// redacted primary message and the constraint, never DETAIL (which quotes values).
    public var refusalReason: String {
        var text = "\(sqlState ?? "?") \(message)"
        if let constraintName { text += " (constraint \(constraintName))" }
        return text
    }

    /// Messages libpq itself produces (no SQLSTATE) when the socket fails or the server goes
    /// away, sometimes before it has marked the connection CONNECTION_BAD.
    static let connectionLevelPhrases = [
        "server closed the connection", "no connection to the server", "could not receive data from server",
        "could not send data to server", "connection not open", "lost synchronization with server", "ssl syscall error",
        "ssl connection has been closed", "eof detected", "connection to server", "socket not open", "connection is closed",
        "terminating connection",
    ]

    /// Whether a client-side message (one without a SQLSTATE) says the connection is gone.
    public static func isConnectionLevel(message: String) -> Bool {
        let m = message.lowercased()
        return connectionLevelPhrases.contains { m.contains($0) }
    }

    public var description: String {
        if let sqlState {
            return "\(code): \(sqlState) \(message)"
        }
        return "\(code): \(message)"
    }

    public var debugDescription: String {
        var text = description
        if let constraintName { text += "\nCONSTRAINT: \(constraintName)" }
        if let detail { text += "\nDETAIL: \(detail)" }
        if let hint { text += "\nHINT: \(hint)" }
        if let query { text += "\nQUERY: \(query)" }
        return text
    }

    static func decoding(_ message: String) -> PostgresError {
        PostgresError(code: .decoding, message: message)
    }
}
