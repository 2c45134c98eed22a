/// One result row; columns are addressed by zero-based index or by name.
public struct PostgresRow: Sendable {
    private let storage: PostgresResultStorage
    private let row: Int

    init(storage: PostgresResultStorage, row: Int) {
        self.storage = storage
        self.row = row
    }

    public var columnCount: Int { storage.columnCount }

    public func isNull(_ column: Int) -> Bool {
        storage.isNull(row: row, column: column)
    }

    /// Decodes a non-NULL value; NULL throws `.decoding`.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard let value = try decode(column, as: T?.self) else {
            throw PostgresError.decoding("unexpected NULL in column \(column) for \(T.self)")
        }
        return value
    }

    /// Decodes a value, with NULL as nil.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T?.Type) throws -> T? {
        guard column >= 0, column < storage.columnCount else {
            throw PostgresError.decoding("column \(column) out of range (\(storage.columnCount) columns)")
        }
        guard let text = storage.text(row: row, column: column) else { return nil }
        return try T(postgresText: text)
    }

    /// Decodes by column name (exact, case-sensitive; the first match wins).
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try decode(try index(of: name), as: T.self)
    }

    public func decode<T: PostgresDecodable>(_ name: String, as type: T?.Type) throws -> T? {
        try decode(try index(of: name), as: T?.self)
    }

    private func index(of name: String) throws -> Int {
        guard let index = storage.columnNames.firstIndex(of: name) else {
            throw PostgresError.decoding("no column named \(name)")
        }
        return index
    }
}
