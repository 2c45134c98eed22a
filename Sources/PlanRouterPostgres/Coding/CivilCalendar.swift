/// Proleptic Gregorian day arithmetic (Howard Hinnant's `days_from_civil`), used instead of
/// `Calendar`/`DateFormatter` because timestamps are decoded once per cell on hot paths.
enum CivilCalendar {
    /// Days since 1970-01-01 for a (year, month, day) with astronomical year numbering.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A cursor over ASCII bytes for the hand-written date/time parsers.
struct ASCIIScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var isAtEnd: Bool { index >= bytes.count }
    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    /// Reads exactly `count` digits.
    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for offset in 0..<count {
            let digit = bytes[index + offset] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        index += count
        return value
    }

    /// Reads one or more digits; returns the value and how many digits there were.
    mutating func digitRun(max: Int = 18) -> (value: Int, count: Int)? {
        var value = 0
        var count = 0
        while let byte = peek, byte &- UInt8(ascii: "0") < 10, count < max {
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
            count += 1
            index += 1
        }
        return count == 0 ? nil : (value, count)
    }

    /// Consumes a trailing " BC" era marker, which PostgreSQL prints for years before 1 AD.
    mutating func consumeBC() -> Bool {
        guard index + 3 == bytes.count, bytes[index] == UInt8(ascii: " "),
            bytes[index + 1] == UInt8(ascii: "B"), bytes[index + 2] == UInt8(ascii: "C")
        else { return false }
        index += 3
        return true
    }
}

/// Writes zero-padded decimal numbers into a byte buffer.
struct ASCIIWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    mutating func byte(_ byte: UInt8) {
        buffer[count] = byte
        count += 1
    }

    mutating func padded(_ value: Int, width: Int) {
        var rest = value
        // Widen for values that need more digits than `width` (e.g. years past 9999).
        var probe = value
        var needed = 1
        while probe >= 10 {
            probe /= 10
            needed += 1
        }
        let digits = Swift.max(width, needed)
        var position = count + digits - 1
        for _ in 0..<digits {
            buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        count += digits
    }
}
