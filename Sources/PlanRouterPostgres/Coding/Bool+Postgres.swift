extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 16 }  // bool
    public func postgresText() -> String { self ? "t" : "f" }
    public init(postgresText: String) throws {
        // The server always prints "t"/"f"; the longer spellings come from hand-written casts.
        switch postgresText {
        case "t", "true", "TRUE": self = true
        case "f", "false", "FALSE": self = false
        default: throw PostgresError.decoding("invalid text for Bool")
        }
    }
}
