import Foundation
import PlanRouterCore

/// Provider time and chair time of a PMS appointment.
///
/// Open Dental patterns are 5-minute units: `X` provider time, `/` assistant time.
/// The provider is counted busy from the first to the last `X` (a gap of assistant
/// time in the middle is not offered: too short to be useful and easy to get wrong);
/// the operatory is busy for the whole pattern.
struct AppointmentTimes: Equatable {
    var provider: (start: Date, end: Date)
    var chair: (start: Date, end: Date)

    static func == (a: AppointmentTimes, b: AppointmentTimes) -> Bool {
        a.provider == b.provider && a.chair == b.chair
    }

    init?(start: Date, lengthMinutes: Int?, pattern: String?) {
        if let pattern, !pattern.isEmpty {
            let units = Array(pattern.utf8)
            let end = start.addingTimeInterval(Double(units.count * 300))
            chair = (start, end)
            if let first = units.firstIndex(of: UInt8(ascii: "X")), let last = units.lastIndex(of: UInt8(ascii: "X")) {
                provider = (start.addingTimeInterval(Double(first * 300)), start.addingTimeInterval(Double((last + 1) * 300)))
            } else {
                provider = (start, start)  // assistant-only: the provider stays free
            }
        } else if let lengthMinutes, lengthMinutes > 0 {
            let end = start.addingTimeInterval(Double(lengthMinutes * 60))
            chair = (start, end)
            provider = (start, end)
        } else {
            return nil
        }
    }
}
