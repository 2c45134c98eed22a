import Dispatch
import Logging
import Synchronization

/// One PostgreSQL session over libpq.
///
/// libpq blocks, so every libpq call for a connection runs on the connection's own serial
/// `DispatchQueue` and callers await it through a continuation; the cooperative thread pool
/// is never blocked. Calls from concurrent tasks are serialized in arrival order, but a
/// session has one transaction state, so share a connection between tasks only for
/// independent autocommit statements; use `PostgresPool` otherwise.
public final class PostgresConnection: Sendable {
    // `handle` is only touched on `queue`; `state` is behind a mutex.
    private let queue: DispatchQueue
    // No deinit here: `LibPQConnection` finishes itself when its last reference (this object
    // or a block still queued) goes away, so PQfinish never races a queued call.
    private let handle: LibPQConnection
    private let state = Mutex(State())
    let logger: Logger

    private struct State {
        var closed = false
        var broken = false
        /// Idle outside a transaction after the last call; recorded on the queue so the pool
        /// can check it without another hop.
        var idle = true
        /// Inside `transaction`: statements may wait in `pending`.
        var inTransaction = false
        /// Statements not yet sent (`BEGIN`, `executeLater`); they go to the server in one
        /// pipeline with the next statement whose answer is awaited, or with COMMIT.
        var pending: [PostgresStatement] = []
        /// Run if the transaction does not commit (`onRollback`).
        var rollbackActions: [@Sendable () -> Void] = []
    }

    /// Inside `transaction`: `action` runs if the transaction does not commit, whether the body
    /// threw or COMMIT failed (a queued statement's error surfaces only there). For state a
    /// caller keeps outside the database that the transaction's writes made true, e.g. a cache.
    /// Outside a transaction it is ignored.
    public func onRollback(_ action: @escaping @Sendable () -> Void) {
        state.withLock { state in
            if state.inTransaction { state.rollbackActions.append(action) }
        }
    }

    /// Ends the transaction's bookkeeping: drops queued statements and returns the rollback actions.
    func endTransaction() -> [@Sendable () -> Void] {
        state.withLock { state in
            defer {
                state.inTransaction = false
                state.pending = []
                state.rollbackActions = []
            }
            return state.rollbackActions
        }
    }

    /// Queues a statement; false outside a transaction.
    func enqueue(_ statement: PostgresStatement) -> Bool {
        state.withLock { state in
            guard state.inTransaction else { return false }
            state.pending.append(statement)
            return true
        }
    }

    /// Takes the queued statements.
    func takePending() -> [PostgresStatement] {
        state.withLock { state in
            defer { state.pending = [] }
            return state.pending
        }
    }

    /// Marks the start of a transaction, with BEGIN queued.
    func beginTransaction() {
        state.withLock { state in
            state.inTransaction = true
            state.pending = [PostgresStatement(sql: "BEGIN", binds: [])]
            state.rollbackActions = []
        }
    }

    private init(queue: DispatchQueue, handle: LibPQConnection, logger: Logger) {
        self.queue = queue
        self.handle = handle
        self.logger = logger
    }

    /// How long a session keeps its prepared statements, and so the plans PostgreSQL keeps for
    /// them (`plan_cache_mode=auto`, `LibPQConnection.sessionDefaults`). A generic plan is made
    /// once, from the table sizes of that moment: one made on a nearly empty table scans it as
    /// it grows (the relay's `published_at` update went from 0.056 to 1.3 ms a call, eleventh
    /// sitting in docs/benchmarks.md). Between transactions, once this has passed, the session
    /// sends `DEALLOCATE ALL` and prepares again: one round trip and a few dozen Parses every
    /// 5 s. A statement run fewer than six times in that window is always planned for its values.
    public static let defaultReplanInterval: Duration = .seconds(5)

    /// Connects to the server given by `conninfo`, a URI (`postgresql://user@host:5432/db?sslmode=require`)
    /// or a `key=value` string. libpq options (sslmode, sslrootcert, connect_timeout, …) pass
    /// through; `connect_timeout` defaults to 10 seconds. `settings` are session parameters
    /// (`-c name=value` in libpq's `options`, which an `options` in `conninfo` replaces).
    /// `replanEvery`: how long the session keeps its prepared statements and their plans
    /// (`defaultReplanInterval`).
    public static func connect(
        _ conninfo: String, settings: [String: String] = [:], replanEvery: Duration = defaultReplanInterval, logger: Logger
    ) async throws -> PostgresConnection {
        try ConnInfo.validate(conninfo)
        let queue = DispatchQueue(label: "planrouter.postgres.connection")
        let handle: LibPQConnection = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result { try LibPQConnection.connect(conninfo, settings: settings, replanEvery: replanEvery, logger: logger) })
            }
        }
        logger.debug("postgres connection opened")
        return PostgresConnection(queue: queue, handle: handle, logger: logger)
    }

    /// True after `close()` or once the connection to the server broke.
    public var isClosed: Bool {
        state.withLock { $0.closed || $0.broken }
    }

    /// Closes the session. Calls already queued fail with `.connectionLost`.
    public func close() {
        let alreadyClosed = state.withLock { state in
            defer { state.closed = true }
            return state.closed
        }
        guard !alreadyClosed else { return }
        queue.async { [handle] in handle.finish() }
        logger.debug("postgres connection closed")
    }

    /// Runs `body` on the connection's queue and resumes the caller with its result.
    func onQueue<Result: Sendable>(
        _ body: @escaping @Sendable (LibPQConnection) throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                guard !state.withLock({ $0.closed }) else {
                    continuation.resume(throwing: PostgresError(code: .connectionLost, message: "connection is closed"))
                    return
                }
                let outcome = Swift.Result { try body(handle) }
                let idle = handle.isIdle
                state.withLock { $0.idle = idle }
                if handle.isBad {
                    let wasBroken = state.withLock { state in
                        defer { state.broken = true }
                        return state.broken
                    }
                    if !wasBroken { logger.debug("postgres connection lost") }
                }
                continuation.resume(with: outcome)
            }
        }
    }

    /// Whether the pool may hand this connection to the next user: open, and not left
    /// inside a transaction by the previous one.
    var isReusable: Bool {
        state.withLock { !$0.closed && !$0.broken && $0.idle }
    }
}
