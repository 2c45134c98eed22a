/// `[UInt8]` is `bytea`, in hex format ("\x0aff") both ways; the connection sets
/// `bytea_output = 'hex'` so results never arrive in the legacy escape format.
extension UInt8: PostgresArrayElement {
    public static var postgresArrayTypeOID: UInt32 { 17 }  // bytea, not an array type

    // Element-wise text is unused: the whole-array hooks below replace the array literal.
    public var postgresArrayElementText: String? { String(self) }

    public init(postgresArrayElementText text: String?) throws {
        guard let text, let value = UInt8(text) else { throw PostgresError.decoding("invalid text for UInt8") }
        self = value
    }

    public static func postgresArrayText(_ elements: [UInt8]) -> String {
        Hex.encode(elements, prefix: "\\x")
    }

    public static func postgresArray(fromText text: String) throws -> [UInt8] {
        var text = text
        let decoded = text.withUTF8 { bytes -> [UInt8]? in
            guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") else { return nil }
            return Hex.decode(UnsafeBufferPointer(rebasing: bytes[2...]))
        }
        guard let decoded else { throw PostgresError.decoding("invalid bytea hex text for [UInt8]") }
        return decoded
    }
}
