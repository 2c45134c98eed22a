/// The session's named prepared statements, by SQL text and parameter types.
///
/// A worker sends the same few dozen statements thousands of times, in small transactions at
/// paced load. Sent unnamed, each one is parsed, analyzed and planned again: at 200
/// acceptances/s that was a fifth of the machine's CPU (docs/benchmarks.md). Named, the
/// server parses and analyzes a statement once per session, and may keep one plan for it
/// (`plan_cache_mode` in `LibPQConnection.sessionDefaults`). The session forgets them all
/// every few seconds (`PostgresConnection.defaultReplanInterval`), so kept plans follow the
/// tables as they grow.
///
/// Only statements with parameters are prepared (the hot, repeated ones; utility statements
/// take none). The cache is bounded: past `capacity` statements are sent unnamed, so SQL
/// built at run time cannot grow the session without limit. A protocol-level prepared
/// statement is not transactional: a rolled-back transaction keeps it, and a statement is
/// recorded only once the server has answered its Parse.
struct PreparedStatementCache {
    struct Key: Hashable {
        let sql: String
        let types: [UInt32]
    }

    static let defaultCapacity = 512

    let capacity: Int
    private var names: [Key: String] = [:]
    private var next = 0

    init(capacity: Int = Self.defaultCapacity) {
        self.capacity = capacity
    }

    /// Whether a statement is worth preparing: it has parameters, and its SQL does not ask to be
    /// planned for its values (`PostgresStatement.plannedForValues`).
    static func isEligible(_ statement: PostgresStatement) -> Bool {
        !statement.binds.isEmpty && !statement.sql.hasPrefix(PostgresStatement.plannedForValues)
    }

    func name(for key: Key) -> String? { names[key] }

    /// A fresh name for a statement about to be prepared, or nil when the cache is full.
    /// Names are never reused in a session, so one forgotten after an error cannot collide.
    mutating func reserveName(reservedSoFar: Int) -> String? {
        guard names.count + reservedSoFar < capacity else { return nil }
        defer { next += 1 }
        return "planrouter_\(next)"
    }

    mutating func record(_ key: Key, name: String) { names[key] = name }

    /// Forgets every statement: after the server lost them (`DISCARD ALL`, SQLSTATE 26000) or
    /// refused one because a table it reads changed shape (0A000, "cached plan must not
    /// change result type"). The next use prepares again under a new name.
    mutating func forgetAll() { names = [:] }
}
