import Foundation

/// An inclusive range of CDT codes such as `D6000-D6199`; a single code is a range of one.
public struct CDTRange: Sendable, Hashable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let lo = CDTRange.number(parts[0]) else { return nil }
        let hi = parts.count == 2 ? CDTRange.number(parts[1]) : lo
        guard let hi, lo <= hi else { return nil }
        lower = lo
        upper = hi
    }

    /// Why `text` is not a range, when it is two CDT codes in the wrong order (nil otherwise).
    public static func problem(_ text: String) -> String? {
        let parts = text.split(separator: "-", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let lo = number(parts[0]), let hi = number(parts[1]), lo > hi else { return nil }
        return "\(parts[0]) comes after \(parts[1]): give the lower code first (\(parts[1])-\(parts[0]))"
    }

    /// 6010 for "D6010"; nil for anything that is not a CDT code.
    public static func number(_ code: String) -> Int? {
        let u = Array(code.utf8)
        guard u.count == 5, u[0] == UInt8(ascii: "D") else { return nil }
        var n = 0
        for c in u.dropFirst() {
            guard c >= 0x30, c <= 0x39 else { return nil }
            n = n * 10 + Int(c - 0x30)
        }
        return n
    }

    public func contains(code: String) -> Bool {
        guard let n = CDTRange.number(code) else { return false }
        return n >= lower && n <= upper
    }

    public var description: String {
        func f(_ n: Int) -> String { "D" + String(repeating: "0", count: 4 - String(n).count) + String(n) }
        return lower == upper ? f(lower) : "\(f(lower))-\(f(upper))"
    }
}
