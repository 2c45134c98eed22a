import Synchronization

/// A statement and its parameters, for sending several in one pipeline
/// (`PostgresConnection.query(_:)` with an array, `executeLater`, `queryLater`).
public struct PostgresStatement: Sendable {
    let sql: String
    let binds: [PostgresBind]
    /// Set on a read queued by `queryLater`: where its rows go when the pipeline runs.
    var deferred: PostgresDeferredRows?

    init(sql: String, binds: [PostgresBind]) {
        self.sql = sql
        self.binds = binds
    }

    /// `sql` with `$1`, `$2`, … bound to `binds`, each with its static type (as `query`).
    public init<each Bind: PostgresEncodable>(_ sql: String, _ binds: repeat each Bind) {
        var prepared: [PostgresBind] = []
        for bind in repeat each binds {
            prepared.append(PostgresBind(bind))
        }
        self.init(sql: sql, binds: prepared)
    }
}

extension PostgresStatement {
    /// Begins SQL whose best plan depends on its parameters' values: a statement that picks
    /// rows by comparing a time with a parameter ("due by now", "expired by now", "older than
    /// the cutoff"). Such a statement is never prepared; it is planned for its values at every
    /// execution. A generic plan knows only that `expires_at <= $3` keeps some third of the
    /// table: the offer worker's release of expired holds took 1.55 ms a call with one instead
    /// of 0.02 ms (docs/benchmarks.md, twelfth sitting; that statement, run before every offer
    /// batch, now states a lower bound instead, which the planner can estimate). Any other
    /// statement with parameters is prepared and PostgreSQL chooses
    /// (`LibPQConnection.sessionDefaults`).
    public static let plannedForValues = "/* planned for its values */ "
}

/// The answer to a read queued with `PostgresConnection.queryLater`, filled when the
/// pipeline that carries it to the server runs; read it with `PostgresConnection.rows(of:)`.
public final class PostgresDeferredRows: Sendable {
    private let value = Mutex<PostgresRows?>(nil)

    init() {}

    func fill(_ rows: PostgresRows) { value.withLock { $0 = rows } }
    var rows: PostgresRows? { value.withLock { $0 } }
}
