import Foundation
import PlanRouterCore
import Yams

/// Offices for `planrouter dev-pms opendental`: from a file, or seeded.
public enum OpenDentalSeed {
    public struct OfficeEntry: Decodable, Sendable {
        public var customerKey: String
        public var timeZoneName: String
        public var timeZone: TimeZone { TimeZone(identifier: timeZoneName) ?? TimeZone(identifier: "UTC")! }
        enum CodingKeys: String, CodingKey {
            case customerKey = "customer_key"
            case timeZoneName = "time_zone"
        }
    }

    public static func offices(yaml: String) throws -> [OfficeEntry] { try YAMLDecoder().decode([OfficeEntry].self, from: yaml) }

    /// `count` offices (`office-N-key`), each with a dentist and a hygienist, two operatories and
    /// weekday hours 08:00–17:00 for four weeks from `from`.
    public static func seed(_ e: OpenDentalEmulator, offices count: Int, timeZone: TimeZone, from: Date) throws {
        for i in 1...max(1, count) {
            let key = e.addOffice(customerKey: "office-\(i)-key", timeZone: timeZone)
            let dentist = try e.addProvider(key, abbr: "DOC\(i)")
            let hygienist = try e.addProvider(key, abbr: "HYG\(i)", hygienist: true)
            let op1 = try e.addOperatory(key, name: "Op 1", provDentist: dentist)
            let op2 = try e.addOperatory(key, name: "Op 2", provDentist: hygienist)
            let today = LocalTimestamp(from, in: timeZone)
            for d in 0..<28 {
                let day = today.adding(seconds: Int64(d) * 86_400)
                let weekday = (Int((day.naiveSeconds / 86_400) % 7) + 4) % 7  // 0 = Sunday
                guard (1...5).contains(weekday) else { continue }
                try e.addSchedule(key, date: day.dateText, start: "08:00:00", stop: "17:00:00", provNum: dentist, operatories: [op1])
                try e.addSchedule(key, date: day.dateText, start: "08:00:00", stop: "17:00:00", provNum: hygienist, operatories: [op2])
            }
        }
    }
}
