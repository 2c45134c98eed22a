import Foundation
import PlanRouterCore

/// Local wall-clock time → instant, through Foundation's Calendar (independent of the code under test).
func at(_ text: String, _ zone: TimeZone) -> Int64 {
    let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).map { Int($0)! }
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = zone
    let d = cal.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4]))!
    return Int64(d.timeIntervalSince1970)
}

/// Instant → "yyyy-MM-dd HH:mm" local, for readable failures.
func localText(_ t: Int64, _ zone: TimeZone) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = zone
    f.dateFormat = "yyyy-MM-dd HH:mm zzz"
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
}

let newYork = TimeZone(identifier: "America/New_York")!
let utc = TimeZone(identifier: "UTC")!

func provider(
    _ id: String, roles: Set<String> = ["dentist"], ops: [String] = ["op1"], blocks: [ScheduleBlock], busy: [TimeRange] = []
) -> ProviderCalendar {
    ProviderCalendar(providerID: id, roles: roles, operatoryIDs: ops, blocks: blocks, busy: busy)
}

func location(
    _ providers: [ProviderCalendar], zone: TimeZone = newYork, increment: Int = 10, operatoryBusy: [String: [TimeRange]] = [:],
    blockouts: [Blockout] = []
) -> LocationCalendar {
    LocationCalendar(
        locationID: "loc", timeZone: zone, incrementMinutes: increment, providers: providers, operatoryBusy: operatoryBusy,
        blockouts: blockouts)
}

func range(_ a: String, _ b: String, _ zone: TimeZone = newYork) -> TimeRange {
    TimeRange(start: at(a, zone), end: at(b, zone))
}
