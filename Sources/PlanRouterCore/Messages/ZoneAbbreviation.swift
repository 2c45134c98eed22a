import Foundation
import Synchronization

/// The abbreviation a location's clocks show (MST/MDT, CET/CEST, GMT/BST), for patient-facing times.
///
/// Foundation on Linux names most zones only by their offset ("GMT+1" for Berlin), so the name
/// comes from the tz database's rule for the zone (the POSIX TZ string on the last line of
/// `/usr/share/zoneinfo/<zone>`, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`), the same source `date +%Z`
/// reads. Zones whose rule has no letters (Lord Howe: `<+1030>-10:30<+11>-11,…`) have none, and
/// neither does a system without tzdata: then the label is the offset, e.g. `GMT+10:30`.
public enum ZoneAbbreviation {
    static let directory = "/usr/share/zoneinfo"
    private static let cache = Mutex<[String: Names]>([:])

    struct Names: Sendable, Equatable {
        var standard: String?
        var daylight: String?
    }

    /// The letters abbreviation in force at `date` (daylight or standard time), nil when the zone has none.
    public static func abbreviation(for zone: TimeZone, at date: Date) -> String? {
        let names = names(zone.identifier)
        return zone.isDaylightSavingTime(for: date) ? names.daylight ?? names.standard : names.standard
    }

    /// What to write after a local time: the abbreviation, else the offset (`GMT+10:30`).
    public static func label(for zone: TimeZone, at date: Date) -> String {
        if let a = abbreviation(for: zone, at: date) { return a }
        let seconds = zone.secondsFromGMT(for: date)
        if seconds == 0 { return "GMT" }
        let minutes = abs(seconds) / 60
        let m = minutes % 60
        return "GMT\(seconds < 0 ? "-" : "+")\(minutes / 60)\(m == 0 ? "" : ":\(m < 10 ? "0" : "")\(m)")"
    }

    static func names(_ identifier: String) -> Names {
        if let n = cache.withLock({ $0[identifier] }) { return n }
        var n = Names()
        // Identifiers are letters, digits, '/', '_', '-', '+': never a path outside the directory.
        if !identifier.contains(".."), !identifier.hasPrefix("/"),
            let data = FileManager.default.contents(atPath: "\(directory)/\(identifier)"),
            let text = String(data: data.suffix(200), encoding: .isoLatin1),
            let rule = text.split(separator: "\n", omittingEmptySubsequences: true).last,
            rule.allSatisfy({ $0.isASCII && !$0.isNewline && ($0.isLetter || $0.isNumber || "<>+-:,./".contains($0)) })
        {
            n = parseRule(String(rule))
        }
        cache.withLock { $0[identifier] = n }
        return n
    }

    /// The standard and daylight names of a POSIX TZ rule: `MST7MDT,…` → (MST, MDT); quoted numeric
    /// names (`<+1030>`) are offsets, not names: nil.
    static func parseRule(_ rule: String) -> Names {
        var rest = Substring(rule)
        func name() -> String? {
            if rest.first == "<" {
                guard let close = rest.firstIndex(of: ">") else {
                    rest = ""
                    return nil
                }
                let quoted = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                return quoted.count >= 3 && quoted.allSatisfy(\.isLetter) ? String(quoted) : nil
            }
            let letters = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(letters.count)
            return letters.count >= 3 ? String(letters) : nil
        }
        func skipOffset() { rest = rest.drop { "+-0123456789:".contains($0) } }
        let standard = name()
        guard standard != nil || rule.first == "<" else { return Names() }
        skipOffset()
        let daylight = rest.isEmpty || rest.first == "," ? nil : name()
        return Names(standard: standard, daylight: daylight)
    }
}
