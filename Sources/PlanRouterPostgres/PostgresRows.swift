/// The rows of one statement's result. Values stay in libpq's result buffer and are
/// converted only when a row is decoded.
public struct PostgresRows: Sendable, RandomAccessCollection {
    private let storage: PostgresResultStorage

    init(_ storage: PostgresResultStorage) {
        self.storage = storage
    }

    public var columnNames: [String] { storage.columnNames }
    /// Rows inserted, updated, deleted, selected, … as the command tag reports; 0 if none.
    public var affectedRows: Int { storage.affectedRows }

    public var startIndex: Int { 0 }
    public var endIndex: Int { storage.rowCount }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row index out of range")
        return PostgresRow(storage: storage, row: position)
    }
}
