import Logging
import Synchronization

/// A fixed-size set of connections shared by concurrent tasks.
///
/// Connections open lazily, up to `size`; tasks beyond that suspend (no polling) until one is
/// returned. A connection that comes back broken, or still inside a transaction, is closed
/// and its slot reopened on demand, so a server restart heals without restarting the pool.
public final class PostgresPool: Sendable {
    private let conninfo: String
    private let settings: [String: String]
    private let size: Int
    private let logger: Logger
    private let state = Mutex(State())

    /// What a waiting task is given: a ready connection, or the right to open one.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        case open
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections idle, leased or being opened; never above `size`.
        var slotsInUse = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Nothing connects here; the first `withConnection` opens the first connection, and
    /// a malformed `conninfo` surfaces there as `.invalidConfiguration`. Every connection opens
    /// with the session `settings` (see `PostgresConnection.connect`).
    public init(conninfo: String, size: Int = 4, settings: [String: String] = [:], logger: Logger) {
        precondition(size > 0, "pool size must be positive")
        self.conninfo = conninfo
        self.settings = settings
        self.size = size
        self.logger = logger
    }

    /// Leases a connection for the duration of `body`.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        let value: T
        do {
            value = try await body(connection)
        } catch {
            release(connection, reusable: connection.isReusable)
            throw error
        }
        release(connection, reusable: connection.isReusable)
        return value
    }

    /// Leases a connection and runs `body` in a transaction on it (see `PostgresConnection.transaction`).
    public func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.transaction(body)
        }
    }

    /// Fails waiting and future leases with `.poolClosed`, closes idle connections, and returns
    /// once every leased connection has come back and been closed.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            let idle = state.idle
            state.idle = []
            state.slotsInUse -= idle.count
            let waiters = state.waiters
            state.waiters = []
            return (idle, waiters)
        }
        for connection in idle { connection.close() }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.closedError) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.slotsInUse == 0 { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        logger.debug("postgres pool closed")
    }

    private static let closedError = PostgresError(code: .poolClosed, message: "the connection pool is closed")

    private func acquire() async throws -> PostgresConnection {
        switch try await grant() {
        case .connection(let connection):
            return connection
        case .open:
            do {
                return try await PostgresConnection.connect(conninfo, settings: settings, logger: logger)
            } catch {
                freeSlot()
                throw error
            }
        }
    }

    private func grant() async throws -> Grant {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let immediate: Result<Grant, any Error>? = state.withLock { state in
                    if state.closed { return .failure(Self.closedError) }
                    if let connection = state.idle.popLast() { return .success(.connection(connection)) }
                    if state.slotsInUse < size {
                        state.slotsInUse += 1
                        return .success(.open)
                    }
                    // Checked under the lock so a cancellation that ran before we enqueue is
                    // not missed (the handler below takes the same lock).
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func release(_ connection: PostgresConnection, reusable: Bool) {
        enum Action {
            case keptIdle
            case handOff(Waiter)
            case discard
        }
        let action: Action = state.withLock { state in
            guard reusable, !state.closed else { return .discard }
            if !state.waiters.isEmpty { return .handOff(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .keptIdle
        }
        switch action {
        case .keptIdle:
            break
        case .handOff(let waiter):
            waiter.continuation.resume(returning: .connection(connection))
        case .discard:
            logger.debug("postgres pool discards connection", metadata: ["postgres.pool.reusable": "\(reusable)"])
            connection.close()
            freeSlot()
        }
    }

    /// Gives a slot back, either to the first waiter (who opens a connection) or to the pool.
    private func freeSlot() {
        let (waiter, closeWaiters): (Waiter?, [CheckedContinuation<Void, Never>]) = state.withLock { state in
            if !state.closed, !state.waiters.isEmpty {
                return (state.waiters.removeFirst(), [])
            }
            state.slotsInUse -= 1
            guard state.closed, state.slotsInUse == 0 else { return (nil, []) }
            defer { state.closeWaiters = [] }
            return (nil, state.closeWaiters)
        }
        waiter?.continuation.resume(returning: .open)
        for waiter in closeWaiters { waiter.resume() }
    }
}
