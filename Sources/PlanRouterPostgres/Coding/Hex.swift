/// Lowercase hex text of bytes, and back. `bytea` travels in this form (after `\x`),
/// and the workers pass byte strings as hex inside `text[]` parameters
/// (`decode(x, 'hex')`), which keeps batch inserts to one array type per column.
///
/// Concrete types on purpose: these run for every payload the relay reads and every
/// `bytea` bound, and generic code called across modules is not specialized.
package enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `prefix` (ASCII) followed by the hex of `bytes`.
    package static func encode(_ bytes: [UInt8], prefix: StaticString = "") -> String {
        let head = prefix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: head + bytes.count * 2) { buffer in
            prefix.withUTF8Buffer { for (i, c) in $0.enumerated() { buffer[i] = c } }
            var index = head
            for byte in bytes {
                buffer[index] = digits[Int(byte >> 4)]
                buffer[index + 1] = digits[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }

    /// Lowercase or uppercase hex to bytes; nil when the text is not whole bytes of hex.
    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode($0) }
    }

    /// The same over UTF-8 bytes.
    package static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i < text.count {
            guard let hi = value(text[i]), let lo = value(text[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
