import CLibPQ

/// Owns one `PGresult`. libpq documents results as read-only once created and safe to pass
/// between threads, so rows are read straight from libpq's buffer on any thread, without
/// copying every cell up front.
final class PostgresResultStorage: @unchecked Sendable {
    // @unchecked: a PGresult is read-only once created, and libpq allows reading it from any thread.
    private let result: OpaquePointer
    let rowCount: Int
    let columnCount: Int
    let columnNames: [String]
    let affectedRows: Int

    init(_ result: OpaquePointer) {
        self.result = result
        self.rowCount = Int(PQntuples(result))
        self.columnCount = Int(PQnfields(result))
        self.columnNames = (0..<Int32(PQnfields(result))).map { String(cString: PQfname(result, $0)) }
        // PQcmdTuples is "" for commands without a count (e.g. CREATE TABLE).
        self.affectedRows = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
    }

    deinit {
        PQclear(result)
    }

    /// The command tag, e.g. "COMMIT" or "ROLLBACK".
    var commandStatus: String {
        PQcmdStatus(result).map { String(cString: $0) } ?? ""
    }

    func isNull(row: Int, column: Int) -> Bool {
        PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    func text(row: Int, column: Int) -> String? {
        guard !isNull(row: row, column: column), let value = PQgetvalue(result, Int32(row), Int32(column)) else {
            return nil
        }
        return String(cString: value)
    }
}
