/// A calendar date without time or zone (PostgreSQL `date`), so business dates never shift
/// with time zones the way a `Date` at midnight would.
public struct PostgresDate: Hashable, Sendable, Comparable, CustomStringConvertible,
    PostgresEncodable, PostgresDecodable
{
    /// Astronomical year numbering: 0 is 1 BC.
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// "YYYY-MM-DD", as PostgreSQL prints it with DateStyle ISO.
    public var description: String {
        let isBC = year <= 0
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var out = ASCIIWriter(buffer: buffer)
            out.padded(isBC ? 1 - year : year, width: 4)
            out.byte(UInt8(ascii: "-"))
            out.padded(month, width: 2)
            out.byte(UInt8(ascii: "-"))
            out.padded(day, width: 2)
            if isBC {
                for byte in " BC".utf8 { out.byte(byte) }
            }
            return out.count
        }
    }

    public static func < (lhs: PostgresDate, rhs: PostgresDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public static var postgresTypeOID: UInt32 { 1082 }  // date
    public func postgresText() -> String { description }

    public init(postgresText: String) throws {
        var text = postgresText
        let parsed: PostgresDate? = text.withUTF8 { bytes in
            var scan = ASCIIScanner(bytes: bytes)
            guard let (year, yearDigits) = scan.digitRun(max: 7), yearDigits >= 4,
                scan.consume(UInt8(ascii: "-")), let month = scan.digits(2),
                scan.consume(UInt8(ascii: "-")), let day = scan.digits(2)
            else { return nil }
            let astronomicalYear = scan.consumeBC() ? 1 - year : year
            guard scan.isAtEnd, (1...12).contains(month), (1...31).contains(day) else { return nil }
            return PostgresDate(year: astronomicalYear, month: month, day: day)
        }
        guard let parsed else { throw PostgresError.decoding("invalid text for PostgresDate (date)") }
        self = parsed
    }
}
