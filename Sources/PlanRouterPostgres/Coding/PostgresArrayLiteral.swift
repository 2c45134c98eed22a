/// Text format of one-dimensional arrays: `{"a","b\"c",NULL}`.
enum PostgresArrayLiteral {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let comma = UInt8(ascii: ",")
    private static let open = UInt8(ascii: "{")
    private static let close = UInt8(ascii: "}")

    /// Every element is quoted: quoting is always valid, and it sidesteps the rules for which
    /// unquoted spellings are special ("NULL", empty, whitespace, braces, delimiters).
    static func encode<Element: PostgresArrayElement>(_ elements: [Element]) -> String {
        // Built as UTF-8 bytes: `"` and `\` are ASCII and never occur inside a multi-byte
        // sequence, so escaping byte by byte is exact and avoids per-scalar String appends
        // (which dominated the batch path for jsonb elements, whose text is full of quotes).
        var out: [UInt8] = [open]
        out.reserveCapacity(2 + elements.count * 12)
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(comma) }
            guard var text = element.postgresArrayElementText else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(quote)
            text.withUTF8 { bytes in
                var runStart = 0
                for i in 0..<bytes.count where bytes[i] == quote || bytes[i] == backslash {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                    out.append(backslash)
                    runStart = i
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
            }
            out.append(quote)
        }
        out.append(close)
        return String(decoding: out, as: UTF8.self)
    }

    static func decode<Element: PostgresArrayElement>(_ text: String) throws -> [Element] {
        var text = text
        return try text.withUTF8 { try decode(bytes: $0) }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    private static func decode<Element: PostgresArrayElement>(bytes: UnsafeBufferPointer<UInt8>) throws -> [Element] {
        func malformed() -> PostgresError { .decoding("malformed array text for [\(Element.self)]") }
        var index = 0
        let end = bytes.count
        // Arrays whose lower bound is not 1 carry a "[0:2]=" prefix.
        if index < end, bytes[index] == UInt8(ascii: "[") {
            while index < end, bytes[index] != UInt8(ascii: "=") { index += 1 }
            index += 1
        }
        guard index < end, bytes[index] == open else { throw malformed() }
        index += 1

        var result: [Element] = []
        var scratch: [UInt8] = []
        func skipSpaces() { while index < end, isSpace(bytes[index]) { index += 1 } }

        skipSpaces()
        if index < end, bytes[index] == close {
            index += 1
            guard index == end else { throw malformed() }
            return result
        }
        while true {
            skipSpaces()
            guard index < end else { throw malformed() }
            let value: String?
            if bytes[index] == open {
                throw PostgresError.decoding("multi-dimensional arrays are not supported for [\(Element.self)]")
            } else if bytes[index] == quote {
                index += 1
                let start = index
                var escaped = false
                while index < end, bytes[index] != quote {
                    if bytes[index] == backslash {
                        escaped = true
                        index += 1
                    }
                    index += 1
                }
                guard index < end else { throw malformed() }
                if escaped {
                    scratch.removeAll(keepingCapacity: true)
                    var cursor = start
                    while cursor < index {
                        if bytes[cursor] == backslash { cursor += 1 }
                        scratch.append(bytes[cursor])
                        cursor += 1
                    }
                    value = String(decoding: scratch, as: UTF8.self)
                } else {
                    value = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                index += 1  // closing quote
            } else {
                let start = index
                while index < end, bytes[index] != comma, bytes[index] != close { index += 1 }
                var stop = index
                while stop > start, isSpace(bytes[stop - 1]) { stop -= 1 }
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<stop])
                if slice.count == 4, slice.elementsEqual("NULL".utf8, by: { $0 | 0x20 == $1 | 0x20 }) {
                    value = nil
                } else {
                    value = String(decoding: slice, as: UTF8.self)
                }
            }
            result.append(try Element(postgresArrayElementText: value))
            skipSpaces()
            guard index < end else { throw malformed() }
            if bytes[index] == comma {
                index += 1
                continue
            }
            guard bytes[index] == close else { throw malformed() }
            index += 1
            break
        }
        guard index == end else { throw malformed() }
        return result
    }
}
