import Foundation

/// The simulated DSO and patient behaviour. Every number here is a parameter of
/// `planrouter simulate` (see docs/simulation.md); defaults follow the practice
/// benchmarks in DESIGN.md.
public struct SimulationModel: Sendable {
    // The organization.
    public var organizationID = "org-sim"
    public var locations = 4
    public var dentistsPerLocation = 3
    public var injectorsPerLocation = 1
    public var operatoriesPerLocation = 5
    /// Share of scheduled provider time already booked in the PMS.
    public var existingBookedShare = 0.55
    // The month.
    /// Plans presented over the month (the worked example's 612); `accept_presented` of them are accepted.
    public var plans = 612
    /// Share of presented plans the patient accepts in the chair. An input of the model, not a result:
    /// PlanRouter acts after the acceptance, so the acceptance rate the demo prints is this parameter
    /// sampled (docs/simulation.md). 0.65 is an assumption (case acceptance of 50–70% is commonly cited).
    public var acceptPresented = 0.65
    public var days = 30
    /// Tier mix (weights) of accepted plans: surgical, restorative, aesthetic, add-on.
    public var tierMix: [String: Double] = ["surgical": 0.20, "restorative": 0.40, "aesthetic": 0.20, "add_on": 0.20]
    // Patients.
    public var smsShare = 0.70
    public var emailOnlyShare = 0.15  // the rest want a phone call
    public var stillInOfficeShare = 0.25
    /// Chance to book from the first offer by tier, when the offer arrives within 15 minutes.
    public var bookFromOffer: [String: Double] = ["surgical": 0.55, "restorative": 0.60, "aesthetic": 0.70, "add_on": 0.65]
    /// The first-offer chance falls linearly to half as the offer's delay reaches this many hours.
    public var warmthHalfLifeHours = 48.0
    public var meanHoursToBookFromOffer = 5.0
    /// Patient still in the office, front desk offers today's openings: chance to book at once.
    public var bookSameVisit = 0.70
    public var bookFromNudge = 0.30
    public var meanHoursToBookFromNudge = 3.0
    public var declineShare = 0.04
    /// Patients who call the front desk and book in the PMS on their own, within 1-6 days.
    public var frontDeskShare = 0.12
    // Patients and their phones (the texts and emails arrive through the emulators; docs/simulation.md).
    /// Chance a patient texts STOP to the first text they get (carriers report well under 5% per campaign; 1-3% is typical).
    public var optOutShare = 0.02
    /// Of the texted patients who decide to book, the share who reply with the opening's number instead of opening the link.
    public var replyShare = 0.35
    /// Chance to pay the deposit from its checkout link, by tier (the rest let it expire).
    public var payDeposit: [String: Double] = ["surgical": 0.80, "restorative": 0.65, "aesthetic": 0.70, "add_on": 0.60]
    /// Mean delay before paying (exponential): most pay within the 2 h hold, some too late.
    public var meanHoursToPay = 0.75
    // Coordinators working tasks (within 2-24 h).
    public var coordinatorBooks = 0.50
    public var coordinatorDeclined = 0.15
    /// With `--pms opendental`: the month's existing appointments the front desk breaks, 1-48 h ahead.
    public var brokenShare = 0.01
    /// Chance the patient shows up for a booked appointment, which the PMS then reports completed when its
    /// start passes (`--pms events`); a completed visit of a plan split into visits leads to its next visit.
    public var showRate = 0.9

    public init() {}

    /// The parameters settable by name (`planrouter simulate --param name=value`).
    public static var tunable: [String: WritableKeyPath<SimulationModel, Double>] {
        [
            "existing_booked_share": \.existingBookedShare, "sms_share": \.smsShare, "email_only_share": \.emailOnlyShare,
            "still_in_office_share": \.stillInOfficeShare, "warmth_half_life_hours": \.warmthHalfLifeHours,
            "mean_hours_to_book_from_offer": \.meanHoursToBookFromOffer, "book_same_visit": \.bookSameVisit,
            "book_from_nudge": \.bookFromNudge,
            "mean_hours_to_book_from_nudge": \.meanHoursToBookFromNudge, "decline_share": \.declineShare,
            "front_desk_share": \.frontDeskShare,
            "coordinator_books": \.coordinatorBooks, "coordinator_declined": \.coordinatorDeclined,
            "accept_presented": \.acceptPresented, "broken_share": \.brokenShare,
            "opt_out_share": \.optOutShare, "reply_share": \.replyShare, "mean_hours_to_pay": \.meanHoursToPay,
            "show_rate": \.showRate,
        ]
    }

    /// Sets `name=value`: a tunable above, `tier_mix.<tier>`, `book_from_offer.<tier>` or `pay_deposit.<tier>`.
    public mutating func set(_ assignment: String) throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]), value >= 0 else {
            throw SimulationError(description: "--param \(assignment): expected name=number (a non-negative number)")
        }
        let name = parts[0]
        if let key = SimulationModel.tunable[name] {
            self[keyPath: key] = value
        } else if name.hasPrefix("tier_mix."), tierMix[String(name.dropFirst(9))] != nil {
            tierMix[String(name.dropFirst(9))] = value
        } else if name.hasPrefix("book_from_offer."), bookFromOffer[String(name.dropFirst(16))] != nil {
            bookFromOffer[String(name.dropFirst(16))] = value
        } else if name.hasPrefix("pay_deposit."), payDeposit[String(name.dropFirst(12))] != nil {
            payDeposit[String(name.dropFirst(12))] = value
        } else {
            let names = SimulationModel.tunable.keys.sorted() + ["tier_mix.<tier>", "book_from_offer.<tier>", "pay_deposit.<tier>"]
            throw SimulationError(description: "--param \(name): unknown parameter; one of \(names.joined(separator: ", "))")
        }
    }

    /// The manual baseline from the practice benchmarks (DESIGN.md / the brief).
    public static let baselineDaysToBooking = "2-4 days"
    public static let baselineUnscheduledShare = 0.27
    public static let baselineMonthlyUnscheduledDollars = 93_000
    /// The benchmarks give no manual figure for same-day scheduling, the plan acceptance rate or
    /// re-booked recalls and follow-ups; those rows say so rather than show a made-up one.
    public static let noBaseline = "no figure"
    public static let baselineFollowUpRebooked = noBaseline
}
