import Foundation

/// What the emulated PMS holds at the end of a `--pms opendental` month, read from the Open
/// Dental emulator itself (not from PlanRouter's events), next to the bookings PlanRouter made.
public struct PracticeOutcome: Sendable {
    public var offices = 0
    /// Plans presented in the chair, and plans signed (Saved copies with DateTSigned).
    public var presented = 0
    public var signed = 0
    /// Scheduled appointments in the emulator that the write-back created (its marker in the Note).
    public var writtenBack = 0
    /// Appointments the simulated front desk or coordinators booked in the PMS; appointments broken.
    public var frontDesk = 0
    public var broken = 0
    /// Hold blockouts the write-back created over the month, and those still on the calendars.
    public var holdBlockoutsMade = 0
    public var holdBlockoutsShown = 0
    /// Bookings live in PlanRouter at the end.
    public var bookedInPlanRouter = 0
    /// Write-backs the PMS refused (the case went back to a coordinator).
    public var refused = 0
    /// Plans booked in PlanRouter with no appointment in the emulator (refused, pending, or lost).
    public var notInPMS: [String] = []

    /// `cases`: cases opened for plans signed in the PMS; `followUps`: follow-up visit cases PlanRouter
    /// routed itself (they have no plan of their own in the PMS, so they are not compared).
    func render(cases: Int, followUps: Int) -> String {
        var out = "\n  in the emulated PMS (Open Dental emulator, \(offices) offices; the connector polled it and wrote bookings back):\n"
        out += "    plans presented / signed in the PMS     \(presented) / \(signed); cases PlanRouter opened: \(cases)"
        out += cases == signed ? " (one per signed plan)" : " (DIFFERS from the signed plans)"
        out += followUps > 0 ? ", plus \(followUps) follow-up visit case(s)\n" : "\n"
        out +=
            "    appointments written back by PlanRouter \(writtenBack) (bookings live in PlanRouter: \(bookedInPlanRouter); refused by the PMS: \(refused))\n"
        out += "    front-desk bookings in the PMS          \(frontDesk); appointments broken: \(broken)\n"
        out +=
            "    holds shown as blockouts                \(holdBlockoutsMade) made over the month, \(holdBlockoutsShown) still on the calendars\n"
        out += "    bookings that never reached the PMS     "
        out +=
            notInPMS.isEmpty
            ? "none\n" : "\(notInPMS.count): \(notInPMS.prefix(10).joined(separator: ", "))\(notInPMS.count > 10 ? ", …" : "")\n"
        return out
    }
}
