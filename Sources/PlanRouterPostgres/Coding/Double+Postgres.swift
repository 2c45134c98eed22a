extension Double: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 701 }  // float8

    public func postgresText() -> String {
        // Swift prints the shortest round-tripping digits, which float8in reads back exactly;
        // only the non-finite spellings differ ("inf" vs "Infinity").
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }

    public init(postgresText: String) throws {
        // Double(String) accepts "NaN", "Infinity" and "-Infinity" as the server prints them.
        guard let value = Double(postgresText) else { throw PostgresError.decoding("invalid text for Double") }
        self = value
    }
}
