/// A statement and its parameters, for sending several in one pipeline
/// (`PostgresConnection.query(_:)` with an array, `executeLater`).
public struct PostgresStatement: Sendable {
    let sql: String
    let binds: [PostgresBind]

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
