import Foundation

extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 1184 }  // timestamptz

    private static let microsPerSecond: Int64 = 1_000_000

    /// "yyyy-MM-dd HH:mm:ss.SSSSSS+00", rounded to the microsecond PostgreSQL stores.
    public func postgresText() -> String {
        let micros = Int64((timeIntervalSince1970 * 1e6).rounded())
        let (seconds, fraction) = micros.floorDivided(by: Self.microsPerSecond)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let civil = CivilCalendar.civil(days: Int(days))
        let isBC = civil.year <= 0
        return String(unsafeUninitializedCapacity: 48) { buffer in
            var out = ASCIIWriter(buffer: buffer)
            out.padded(isBC ? 1 - civil.year : civil.year, width: 4)
            out.byte(UInt8(ascii: "-"))
            out.padded(civil.month, width: 2)
            out.byte(UInt8(ascii: "-"))
            out.padded(civil.day, width: 2)
            out.byte(UInt8(ascii: " "))
            out.padded(Int(secondOfDay / 3600), width: 2)
            out.byte(UInt8(ascii: ":"))
            out.padded(Int(secondOfDay / 60 % 60), width: 2)
            out.byte(UInt8(ascii: ":"))
            out.padded(Int(secondOfDay % 60), width: 2)
            out.byte(UInt8(ascii: "."))
            out.padded(Int(fraction), width: 6)
            out.byte(UInt8(ascii: "+"))
            out.padded(0, width: 2)
            if isBC {
                for byte in " BC".utf8 { out.byte(byte) }
            }
            return out.count
        }
    }

    /// Parses the ISO output of `timestamptz` (and `timestamp`, read as UTC):
    /// "2026-11-29 01:34:22.123456+00", "…+05:30", "…-03:00:15", no fraction, "T" separator,
    /// a trailing " BC", and "infinity"/"-infinity" (as `distantFuture`/`distantPast`).
    public init(postgresText: String) throws {
        switch postgresText {
        case "infinity":
            self = .distantFuture
            return
        case "-infinity":
            self = .distantPast
            return
        default: break
        }
        var text = postgresText
        let micros = text.withUTF8 { Self.parseMicros($0) }
        guard let micros else { throw PostgresError.decoding("invalid text for Date (timestamptz)") }
        self = Date(timeIntervalSince1970: Double(micros) / 1e6)
    }

    private static func parseMicros(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var scan = ASCIIScanner(bytes: bytes)
        guard let (year, yearDigits) = scan.digitRun(max: 7), yearDigits >= 4,
            scan.consume(UInt8(ascii: "-")), let month = scan.digits(2),
            scan.consume(UInt8(ascii: "-")), let day = scan.digits(2),
            scan.consume(UInt8(ascii: " ")) || scan.consume(UInt8(ascii: "T")),
            let hour = scan.digits(2), scan.consume(UInt8(ascii: ":")),
            let minute = scan.digits(2), scan.consume(UInt8(ascii: ":")),
            let second = scan.digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour <= 24, minute < 60, second < 61
        else { return nil }

        var fraction = 0
        if scan.consume(UInt8(ascii: ".")) {
            guard let (value, count) = scan.digitRun(max: 9) else { return nil }
            fraction = value
            // Scale to microseconds; PostgreSQL never prints more than six digits.
            if count < 6 {
                for _ in count..<6 { fraction *= 10 }
            } else {
                for _ in 6..<count { fraction /= 10 }
            }
        }

        var offsetSeconds = 0
        if scan.consume(UInt8(ascii: "Z")) {
            offsetSeconds = 0
        } else if let sign = scan.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            scan.index += 1
            guard let hours = scan.digits(2) else { return nil }
            var minutes = 0
            var seconds = 0
            if scan.consume(UInt8(ascii: ":")) {
                guard let value = scan.digits(2) else { return nil }
                minutes = value
                if scan.consume(UInt8(ascii: ":")) {
                    guard let value = scan.digits(2) else { return nil }
                    seconds = value
                }
            } else if let value = scan.digits(2) {
                minutes = value  // "+0530"
            }
            offsetSeconds = (hours * 3600 + minutes * 60 + seconds) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        let astronomicalYear = scan.consumeBC() ? 1 - year : year
        guard scan.isAtEnd else { return nil }

        let days = CivilCalendar.days(year: astronomicalYear, month: month, day: day)
        let localSeconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return (localSeconds - Int64(offsetSeconds)) * microsPerSecond + Int64(fraction)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, so instants before 1970 split correctly.
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = self / divisor
        var remainder = self % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }
}
