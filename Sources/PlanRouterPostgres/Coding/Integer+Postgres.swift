// Integers use the standard library's parser: it works on UTF-8 directly, with no
// NumberFormatter or locale involved.

extension Int: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 20 }  // int8
    public func postgresText() -> String { String(self) }
    public init(postgresText: String) throws {
        guard let value = Int(postgresText) else { throw PostgresError.decoding("invalid integer text for Int") }
        self = value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 20 }  // int8
    public func postgresText() -> String { String(self) }
    public init(postgresText: String) throws {
        guard let value = Int64(postgresText) else { throw PostgresError.decoding("invalid integer text for Int64") }
        self = value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 23 }  // int4
    public func postgresText() -> String { String(self) }
    public init(postgresText: String) throws {
        guard let value = Int32(postgresText) else { throw PostgresError.decoding("invalid integer text for Int32") }
        self = value
    }
}

extension Int16: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 21 }  // int2
    public func postgresText() -> String { String(self) }
    public init(postgresText: String) throws {
        guard let value = Int16(postgresText) else { throw PostgresError.decoding("invalid integer text for Int16") }
        self = value
    }
}
