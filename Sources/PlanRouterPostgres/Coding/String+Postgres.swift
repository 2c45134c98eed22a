extension String: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 25 }  // text
    public func postgresText() -> String { self }
    public init(postgresText: String) { self = postgresText }
}
