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

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func postgresArrayText(_ elements: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 2 + elements.count * 2) { buffer in
            buffer[0] = UInt8(ascii: "\\")
            buffer[1] = UInt8(ascii: "x")
            var index = 2
            for byte in elements {
                buffer[index] = hexDigits[Int(byte >> 4)]
                buffer[index + 1] = hexDigits[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }

    public static func postgresArray(fromText text: String) throws -> [UInt8] {
        var text = text
        let decoded: [UInt8]? = text.withUTF8 { bytes in
            guard bytes.count >= 2, bytes.count % 2 == 0, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x")
            else { return nil }
            var result = [UInt8]()
            result.reserveCapacity((bytes.count - 2) / 2)
            var index = 2
            while index < bytes.count {
                guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { return nil }
                result.append(high << 4 | low)
                index += 2
            }
            return result
        }
        guard let decoded else { throw PostgresError.decoding("invalid bytea hex text for [UInt8]") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
