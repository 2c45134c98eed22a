// Binds come in two shapes. `(any PostgresEncodable)?` accepts a bare `nil` literal, but Swift
// turns a typed `Int?.none` into an untyped `nil` on the way in, losing its type OID (then
// `SELECT $1` or `COALESCE($1, …)` fail with 42P18). The parameter-pack and non-optional
// overloads keep every bind's static type, so typed NULLs stay typed; the optional ones are
// disfavoured so they are chosen only when a bare `nil` leaves no other choice.
extension PostgresConnection {
    /// Runs one parameterised statement (`$1`, `$2`, …) and returns its rows.
    /// `nil` or an `Optional.none` binds SQL NULL.
    @discardableResult @_disfavoredOverload
    public func query(_ sql: String, _ binds: (any PostgresEncodable)?...) async throws -> PostgresRows {
        try await run(sql, binds.map(PostgresBind.init))
    }

    @discardableResult
    public func query<each Bind: PostgresEncodable>(_ sql: String, _ binds: repeat each Bind) async throws -> PostgresRows {
        try await run(sql, PostgresStatement(sql, repeat each binds).binds)
    }

    @discardableResult @_disfavoredOverload
    public func query(_ sql: String, binds: [(any PostgresEncodable)?]) async throws -> PostgresRows {
        try await run(sql, binds.map(PostgresBind.init))
    }

    @discardableResult
    public func query(_ sql: String, binds: [any PostgresEncodable]) async throws -> PostgresRows {
        try await run(sql, binds.map(PostgresBind.init))
    }

    /// Runs one parameterised statement and returns the number of rows it affected.
    @discardableResult @_disfavoredOverload
    public func execute(_ sql: String, _ binds: (any PostgresEncodable)?...) async throws -> Int {
        try await run(sql, binds.map(PostgresBind.init)).affectedRows
    }

    @discardableResult
    public func execute<each Bind: PostgresEncodable>(_ sql: String, _ binds: repeat each Bind) async throws -> Int {
        try await run(sql, PostgresStatement(sql, repeat each binds).binds).affectedRows
    }

    @discardableResult @_disfavoredOverload
    public func execute(_ sql: String, binds: [(any PostgresEncodable)?]) async throws -> Int {
        try await run(sql, binds.map(PostgresBind.init)).affectedRows
    }

    @discardableResult
    public func execute(_ sql: String, binds: [any PostgresEncodable]) async throws -> Int {
        try await run(sql, binds.map(PostgresBind.init)).affectedRows
    }

    /// Queues a write whose answer the caller does not need (no rows, no count); inside
    /// `transaction` it goes to the server with the next statement that is awaited, or
    /// with COMMIT, in one pipeline: one round trip for many statements. Its error, if
    /// any, is thrown there (naming this statement) and fails the transaction as usual.
    /// Outside a transaction it runs at once.
    public func executeLater<each Bind: PostgresEncodable>(_ sql: String, _ binds: repeat each Bind) async throws {
        let statement = PostgresStatement(sql, repeat each binds)
        if enqueue(statement) {
            // SQL text only, as `run` logs it: parameter values never reach the logs.
            logger.trace(
                "postgres query queued", metadata: ["db.query.text": "\(sql)", "db.query.parameter_count": "\(statement.binds.count)"])
            return
        }
        _ = try await run(statement.sql, statement.binds)
    }

    /// Queues a read whose answer is needed later in the transaction, not before the next
    /// awaited statement: it goes to the server in that statement's pipeline (as
    /// `executeLater`'s writes do), saving a round trip of its own, and `rows(of:)` gives
    /// its rows afterwards. Its error, if any, is thrown by the statement that carried it.
    /// Outside a transaction it runs at once.
    public func queryLater<each Bind: PostgresEncodable>(_ sql: String, _ binds: repeat each Bind) async throws -> PostgresDeferredRows {
        var statement = PostgresStatement(sql, repeat each binds)
        let deferred = PostgresDeferredRows()
        statement.deferred = deferred
        if enqueue(statement) {
            logger.trace(
                "postgres query queued", metadata: ["db.query.text": "\(sql)", "db.query.parameter_count": "\(statement.binds.count)"])
            return deferred
        }
        deferred.fill(try await run(statement.sql, statement.binds))
        return deferred
    }

    /// The rows of a read queued with `queryLater`. If no awaited statement has carried it
    /// to the server yet, the queue is sent now.
    public func rows(of deferred: PostgresDeferredRows) async throws -> PostgresRows {
        if let rows = deferred.rows { return rows }
        let pending = takePending()
        if !pending.isEmpty { _ = try await runPipeline(pending, keeping: 0) }
        guard let rows = deferred.rows else {
            throw PostgresError(
                code: .invalidConfiguration, message: "a read queued with queryLater was not queued on this connection's transaction")
        }
        return rows
    }

    /// Runs the statements in one pipeline (with any writes queued by `executeLater` before
    /// them): one round trip for reads that do not depend on each other. Returns each
    /// statement's rows, in order; the first statement that fails is thrown and the ones
    /// after it are not run.
    public func query(_ statements: [PostgresStatement]) async throws -> [PostgresRows] {
        guard !statements.isEmpty else { return [] }
        let all = takePending() + statements
        return try await runPipeline(all, keeping: statements.count).map(PostgresRows.init)
    }

    /// Runs SQL without parameters through the simple-query protocol, which allows several
    /// `;`-separated statements (migrations). Never interpolate values into `sql`.
    public func simpleQuery(_ sql: String) async throws {
        // Queued statements first, on their own: an error of theirs must not pass for this
        // statement's (a SAVEPOINT's caller would roll back to a savepoint never made).
        let pending = takePending()
        if !pending.isEmpty { _ = try await runPipeline(pending, keeping: 0) }
        _ = try await onQueue { try $0.execSimple(sql) }
    }

    /// Text conversion of the binds happened on the caller's task: CPU work, not blocking.
    private func run(_ sql: String, _ binds: [PostgresBind]) async throws -> PostgresRows {
        // SQL text only: parameter values never reach the logs.
        logger.trace("postgres query", metadata: ["db.query.text": "\(sql)", "db.query.parameter_count": "\(binds.count)"])
        let pending = takePending()
        if pending.isEmpty {
            return PostgresRows(try await onQueue { try $0.exec(sql, binds: binds) })
        }
        let statements = pending + [PostgresStatement(sql: sql, binds: binds)]
        return PostgresRows(try await runPipeline(statements, keeping: 1)[0])
    }

    /// Sends `statements` in one pipeline, fills the reads among them queued by `queryLater`,
    /// and returns the results of the last `keeping`.
    func runPipeline(_ statements: [PostgresStatement], keeping: Int) async throws -> [PostgresResultStorage] {
        let firstKept = statements.count - keeping
        let deferred = statements.indices.filter { $0 < firstKept && statements[$0].deferred != nil }
        let results = try await onQueue {
            try $0.execPipeline(statements, keepingIndices: deferred + Array(firstKept..<statements.count))
        }
        for (i, index) in deferred.enumerated() { statements[index].deferred?.fill(PostgresRows(results[i])) }
        return Array(results.suffix(keeping))
    }
}
