import CLibPQ
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw `PGconn`. Every method blocks and must run on the owning `PostgresConnection`'s
/// serial queue, which is what makes the `@unchecked Sendable` sound: the class only crosses
/// threads to be handed to that queue.
final class LibPQConnection: @unchecked Sendable {
    // @unchecked: the PGconn is touched only on the owning connection's serial queue.
    private var connection: OpaquePointer?
    private var notice: Unmanaged<NoticeLogger>?
    private var prepared = PreparedStatementCache()
    /// When the session's prepared statements were last all forgotten.
    private var preparedSince = ContinuousClock.now
    /// `PostgresConnection.defaultReplanInterval`.
    private let replanEvery: Duration

    private init(connection: OpaquePointer, notice: Unmanaged<NoticeLogger>, replanEvery: Duration) {
        self.connection = connection
        self.notice = notice
        self.replanEvery = replanEvery
    }

    deinit {
        finish()
    }

    /// Session settings every connection starts with; a caller's `settings` override them.
    ///
    /// `jit=off`: PostgreSQL JIT-compiles a statement whose *estimated* cost passes
    /// `jit_above_cost`, and our statements are short OLTP ones whose estimates can be
    /// large (correlated subqueries over a big outbox): the stalled-case watchdog's
    /// statement, which returns in 3 ms, spent 6–11 s compiling on every round while a
    /// backlog filled the outbox (docs/benchmarks.md, "Where PostgreSQL's time goes").
    ///
    /// `plan_cache_mode=auto` (PostgreSQL's default, stated so a server setting cannot change
    /// it): a prepared statement (`PreparedStatementCache`) is planned for its values five
    /// times, then PostgreSQL keeps one generic plan for it if that plan's estimated cost is no
    /// worse. Planning was 45% of PostgreSQL's time at 50 acceptances/s when every execution
    /// was planned (`force_custom_plan`); with kept plans the full pipeline used 9% less CPU
    /// (docs/benchmarks.md, twelfth sitting). Two things keep a kept plan from going bad: the
    /// session forgets its statements every `PostgresConnection.defaultReplanInterval`, and
    /// statements whose plan depends on a time they are given are never prepared
    /// (`PostgresStatement.plannedForValues`).
    static let sessionDefaults = ["jit": "off", "plan_cache_mode": "auto"]

    /// Connects (blocking) and prepares the session for the text formats the decoders expect.
    static func connect(
        _ conninfo: String, settings: [String: String] = [:], replanEvery: Duration = PostgresConnection.defaultReplanInterval,
        logger: Logger
    ) throws -> LibPQConnection {
        // Keywords before "dbname" are defaults: with expand_dbname, the settings in the
        // user's conninfo (expanded from "dbname") override them.
        var keywords = ["connect_timeout", "fallback_application_name", "client_encoding"]
        var values = ["10", "planrouter", "UTF8"]
        let settings = sessionDefaults.merging(settings) { _, given in given }
        if !settings.isEmpty {
            // Session settings travel in the startup packet (no extra round trip); libpq's
            // `options` escapes spaces and backslashes with a backslash.
            keywords.append("options")
            values.append(
                settings.sorted { $0.key < $1.key }.map { key, value in
                    "-c \(key)=" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: " ", with: "\\ ")
                }.joined(separator: " "))
        }
        keywords.append("dbname")
        values.append(conninfo)
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(code: .connectionFailed, message: "out of memory allocating a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PQerrorMessage(connection).map { String(cString: $0).trimmingWhitespace() } ?? ""
            PQfinish(connection)
            throw PostgresError(code: .connectionFailed, message: ConnInfo.redact(message, conninfo: conninfo))
        }
        let handle = LibPQConnection(
            connection: connection, notice: NoticeLogger.install(on: connection, logger: logger), replanEvery: replanEvery)
        // UTC and ISO keep timestamptz/date output in the one shape the hand parsers read;
        // hex is the only bytea format `[UInt8]` decodes.
        do {
            try handle.execSimple("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET bytea_output = 'hex'")
        } catch var error as PostgresError {
            handle.finish()
            error.code = .connectionFailed
            throw error
        }
        return handle
    }

    /// Whether the socket is gone; the connection can then only be closed.
    var isBad: Bool {
        guard let connection else { return true }
        return PQstatus(connection) == CONNECTION_BAD
    }

    /// Whether the session is idle outside a transaction, i.e. safe to hand to another user.
    var isIdle: Bool {
        guard let connection, PQstatus(connection) == CONNECTION_OK else { return false }
        return PQtransactionStatus(connection) == PQTRANS_IDLE
    }

    func finish() {
        if let connection {
            PQfinish(connection)
            self.connection = nil
        }
        // libpq cannot call the notice receiver after PQfinish, so its +1 can go.
        notice?.release()
        notice = nil
    }

    private func live() throws -> OpaquePointer {
        guard let connection else { throw PostgresError(code: .connectionLost, message: "connection is closed") }
        return connection
    }

    /// One statement with text parameters of explicit types; text results.
    func exec(_ sql: String, binds: [PostgresBind]) throws -> PostgresResultStorage {
        let statement = PostgresStatement(sql: sql, binds: binds)
        // A statement to prepare goes as a pipeline of Parse and Execute: still one round trip.
        if PreparedStatementCache.isEligible(statement) {
            return try execPipeline([statement], keeping: 1)[0]
        }
        let connection = try live()
        let result = Self.withParameters(binds) { types, values in
            PQexecParams(connection, sql, Int32(binds.count), types, values, nil, nil, 0)
        }
        return try check(result, connection: connection, sql: sql, binds: binds)
    }

    /// Sends `statements` in one pipeline (libpq pipeline mode: one write, one wait for the
    /// server, instead of a round trip each) and returns the last statement's result. The
    /// server runs them in order; once one fails, the rest are skipped and the first
    /// failure is thrown, naming its own statement.
    func execPipeline(_ statements: [PostgresStatement]) throws -> PostgresResultStorage {
        try execPipeline(statements, keeping: 1)[0]
    }

    /// `execPipeline` that returns the results of the last `keeping` statements, in order.
    func execPipeline(_ statements: [PostgresStatement], keeping: Int) throws -> [PostgresResultStorage] {
        try execPipeline(statements, keepingIndices: Array(statements.count - keeping..<statements.count))
    }

    /// `execPipeline` that returns the results of the statements at `keepingIndices`
    /// (ascending), in that order.
    func execPipeline(_ statements: [PostgresStatement], keepingIndices: [Int]) throws -> [PostgresResultStorage] {
        let connection = try live()
        // Between transactions only: in a failed one DEALLOCATE would be refused.
        if PQtransactionStatus(connection) == PQTRANS_IDLE, preparedSince.duration(to: .now) > replanEvery {
            try execSimple("DEALLOCATE ALL")
            prepared.forgetAll()
            preparedSince = .now
        }
        guard PQenterPipelineMode(connection) == 1 else {
            throw clientError(connection, fallback: "could not enter pipeline mode")
        }
        // What the server answers, in order: a statement prepared here first answers its
        // Parse, then every statement answers its execution.
        enum Answer {
            case parse(statement: Int, key: PreparedStatementCache.Key, name: String)
            case execution(statement: Int)
        }
        var answers: [Answer] = []
        var parsing: [PreparedStatementCache.Key: String] = [:]
        for (position, statement) in statements.enumerated() {
            let types = statement.binds.map { Oid($0.typeOID) }
            var name: String?
            if PreparedStatementCache.isEligible(statement) {
                let key = PreparedStatementCache.Key(sql: statement.sql, types: types)
                if let known = prepared.name(for: key) ?? parsing[key] {
                    name = known
                } else if let fresh = prepared.reserveName(reservedSoFar: parsing.count) {
                    let sent = types.withUnsafeBufferPointer { oids in
                        PQsendPrepare(connection, fresh, statement.sql, Int32(types.count), oids.baseAddress)
                    }
                    guard sent == 1 else { throw abandonPipeline(connection, fallback: "could not send a statement to prepare") }
                    parsing[key] = fresh
                    answers.append(.parse(statement: position, key: key, name: fresh))
                    name = fresh
                }
            }
            let sent = Self.withParameters(statement.binds) { types, values in
                if let name {
                    PQsendQueryPrepared(connection, name, Int32(statement.binds.count), values, nil, nil, 0)
                } else {
                    PQsendQueryParams(connection, statement.sql, Int32(statement.binds.count), types, values, nil, nil, 0)
                }
            }
            guard sent == 1 else { throw abandonPipeline(connection, fallback: "could not send a pipelined statement") }
            answers.append(.execution(statement: position))
        }
        guard PQpipelineSync(connection) == 1 else {
            throw abandonPipeline(connection, fallback: "could not send the pipeline's sync")
        }
        // Each answer is a result then NULL; the sync yields PGRES_PIPELINE_SYNC. After a
        // failure the later answers are PGRES_PIPELINE_ABORTED.
        var index = 0
        let wanted = Set(keepingIndices)
        var kept: [Int: OpaquePointer] = [:]
        func clearKept() {
            for result in kept.values { PQclear(result) }
            kept = [:]
        }
        var failure: PostgresError?
        var synced = false
        while !synced {
            guard let result = PQgetResult(connection) else {
                index += 1
                // A lost connection yields NULLs and never the sync.
                if PQstatus(connection) == CONNECTION_BAD || index > answers.count {
                    clearKept()
                    throw failure ?? clientError(connection, fallback: "connection lost in a pipeline")
                }
                continue
            }
            let status = PQresultStatus(result)
            switch (status, index < answers.count ? answers[index] : nil) {
            case (PGRES_PIPELINE_SYNC, _):
                PQclear(result)
                synced = true
            case (PGRES_PIPELINE_ABORTED, _):
                PQclear(result)
            case (PGRES_COMMAND_OK, .parse(_, let key, let name)?):
                prepared.record(key, name: name)
                PQclear(result)
            case (PGRES_COMMAND_OK, .execution(let position)?), (PGRES_TUPLES_OK, .execution(let position)?),
                (PGRES_EMPTY_QUERY, .execution(let position)?):
                if wanted.contains(position), kept[position] == nil {
                    kept[position] = result
                } else {
                    PQclear(result)
                }
            case (_, .parse(let position, _, _)?), (_, .execution(let position)?):
                if failure == nil {
                    failure = serverError(result, connection: connection, sql: statements[position].sql, binds: statements[position].binds)
                    if failure?.staleStatement == true { prepared.forgetAll() }
                }
                PQclear(result)
            default:
                PQclear(result)
            }
        }
        guard PQexitPipelineMode(connection) == 1 else {
            clearKept()
            throw abandonPipeline(connection, fallback: "could not leave pipeline mode")
        }
        if let failure {
            clearKept()
            throw failure
        }
        guard kept.count == wanted.count else {
            clearKept()
            throw clientError(connection, fallback: "no result from server")
        }
        return keepingIndices.map { PostgresResultStorage(kept[$0]!) }
    }

    /// A pipeline that could not be sent or drained leaves the session in an unknown
    /// state: the connection is closed, so the pool drops it and the caller's transaction
    /// fails as on a lost connection.
    private func abandonPipeline(_ connection: OpaquePointer, fallback: String) -> PostgresError {
        var error = clientError(connection, fallback: fallback)
        error.code = .connectionLost
        finish()
        return error
    }

    /// Calls `body` with libpq's parameter arrays for `binds`: type OIDs and NUL-terminated
    /// texts, all texts in one buffer (one allocation per statement instead of one per
    /// value, which matters for large unnest batches). The pointers live for the call.
    private static func withParameters<Result>(
        _ binds: [PostgresBind], _ body: ([Oid], [UnsafePointer<CChar>?]) -> Result
    ) -> Result {
        let types = binds.map { Oid($0.typeOID) }
        var total = 0
        for bind in binds {
            if let text = bind.text { total += text.utf8.count + 1 }
        }
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Swift.max(total, 1))
        defer { buffer.deallocate() }
        var pointers = [UnsafePointer<CChar>?](repeating: nil, count: binds.count)
        var offset = 0
        for (index, bind) in binds.enumerated() {
            guard var text = bind.text else { continue }
            let start = buffer + offset
            text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { source in
                    if let base = source.baseAddress { start.update(from: base, count: source.count) }
                }
                start[utf8.count] = 0
                offset += utf8.count + 1
            }
            pointers[index] = UnsafePointer(start)
        }
        return body(types, pointers)
    }

    /// Several statements, no parameters (migrations, session setup).
    @discardableResult
    func execSimple(_ sql: String) throws -> PostgresResultStorage {
        let connection = try live()
        return try check(PQexec(connection, sql), connection: connection, sql: sql, binds: [])
    }

    private func check(
        _ result: OpaquePointer?, connection: OpaquePointer, sql: String, binds: [PostgresBind]
    ) throws -> PostgresResultStorage {
        guard let result else {
            throw clientError(connection, fallback: "no result from server")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResultStorage(result)
        default:
            defer { PQclear(result) }
            throw serverError(result, connection: connection, sql: sql, binds: binds)
        }
    }

    /// An error libpq raised itself (no SQLSTATE). It is a lost connection when libpq has
    /// marked the connection bad, and also when it has not yet but says so: during a server
    /// restart "server closed the connection unexpectedly" arrives while PQstatus still
    /// reads CONNECTION_OK, and must not pass for a refusal of the statement.
    private func clientError(_ connection: OpaquePointer, fallback: String) -> PostgresError {
        var message = PQerrorMessage(connection).map { String(cString: $0).trimmingWhitespace() } ?? ""
        if message.isEmpty { message = fallback }
        let lost = PQstatus(connection) == CONNECTION_BAD || PostgresError.isConnectionLevel(message: message)
        return PostgresError(code: lost ? .connectionLost : .server, message: message)
    }

    private func serverError(
        _ result: OpaquePointer, connection: OpaquePointer, sql: String, binds: [PostgresBind]
    ) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let sqlState = field(UInt8(ascii: "C"))
        // Without a SQLSTATE the error was raised by libpq itself (e.g. a broken socket).
        guard let sqlState else {
            let message = PQresultErrorMessage(result).map { String(cString: $0).trimmingWhitespace() } ?? ""
            var error = clientError(connection, fallback: message.isEmpty ? "query failed" : message)
            error.query = sql
            return error
        }
        let lost = PQstatus(connection) == CONNECTION_BAD
        var error = PostgresError(
            code: lost ? .connectionLost : .server,
            sqlState: sqlState,
            message: ServerMessage.redact(field(UInt8(ascii: "M")) ?? "server error", sqlState: sqlState, binds: binds)
        )
        error.constraintName = field(UInt8(ascii: "n"))
        error.detail = field(UInt8(ascii: "D"))
        error.hint = field(UInt8(ascii: "H"))
        error.query = sql
        // A named statement the session no longer matches: the server lost it (26000), or a
        // table it reads changed its result's shape (0A000 raised where a cached plan is
        // revalidated; the routine's name does not depend on the server's language).
        error.staleStatement =
            sqlState == "26000" || (sqlState == "0A000" && field(UInt8(ascii: "R")) == "RevalidateCachedQuery")
        return error
    }

    // MARK: Notifications

    /// Returns a notification already received, else waits on the socket with poll(2) for at
    /// most `timeout`. Blocks the connection's queue meanwhile, by design: the connection
    /// belongs to the listener. `wakeUp` ends the wait early with `CancellationError`.
    func waitForNotification(timeout: Duration, wakeUp: WakeUp) throws -> PostgresNotification? {
        let connection = try live()
        if let queued = takeNotification(connection) { return queued }
        let deadline = ContinuousClock.now + timeout
        while true {
            if wakeUp.isSignalled { throw CancellationError() }
            // Reads whatever already arrived, so a notification in libpq's buffer is not
            // missed because the socket looks idle.
            guard PQconsumeInput(connection) == 1 else {
                throw clientError(connection, fallback: "connection lost while waiting for notifications")
            }
            if let notification = takeNotification(connection) { return notification }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return nil }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(
                clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            var descriptors = [
                pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeUp.fileDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&descriptors, 2, milliseconds) < 0, errno != EINTR {
                throw PostgresError(code: .connectionLost, message: "poll failed on the connection socket")
            }
        }
    }

    private func takeNotification(_ connection: OpaquePointer) -> PostgresNotification? {
        guard let notify = PQnotifies(connection) else { return nil }
        defer { PQfreemem(notify) }
        return PostgresNotification(
            channel: String(cString: notify.pointee.relname),
            payload: String(cString: notify.pointee.extra),
            processID: notify.pointee.be_pid
        )
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<Result>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result
) -> Result {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
