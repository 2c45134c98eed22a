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

/// The answer to a read queued with `PostgresConnection.queryLater`, filled when the
/// pipeline that carries it to the server runs; read it with `PostgresConnection.rows(of:)`.
public final class PostgresDeferredRows: Sendable {
    private let value = Mutex<PostgresRows?>(nil)

    init() {}

    func fill(_ rows: PostgresRows) { value.withLock { $0 = rows } }
    var rows: PostgresRows? { value.withLock { $0 } }
}
