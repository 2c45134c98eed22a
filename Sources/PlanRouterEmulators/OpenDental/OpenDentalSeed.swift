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

    /// `count` patients of one office, each with a crown and a core buildup presented by
    /// `provNum` and a signed Saved copy of that plan: what `planrouter bench connector` polls.
    /// One edit of the office for all of them. Returns each patient's PatNum and signed plan's TreatPlanNum.
    @discardableResult
    public static func signedPlans(
        _ e: OpenDentalEmulator, office key: String, count: Int, provNum: Int64
    ) throws -> [(patNum: Int64, treatPlanNum: Int64)] {
        try e.mutate(key) { o, now in
            try (0..<count).map { i in
                let pat = o.addPatient(
                    lName: "Bench", fName: "Patient\(i)", wirelessPhone: String(format: "(503)555-%04d", i % 10_000), email: "",
                    txtMsgOk: "Yes", preferContactMethod: "TextMessage", clinicNum: 0, now: now)
                let plan = o.presentPlan(
                    patNum: pat, provNum: provNum,
                    procedures: [
                        .init(code: "D2740", descript: "crown - porcelain/ceramic", fee: 1250, toothNum: "30"),
                        .init(code: "D2950", descript: "core buildup", fee: 310.5, toothNum: "30"),
                    ], clinicNum: 0, now: now)
                return (pat, try o.signPlan(plan.treatPlanNum, saved: true, patAmts: [250, 60], now: now))
            }
        }
    }
}
