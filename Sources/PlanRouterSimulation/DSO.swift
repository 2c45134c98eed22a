import Foundation
import PlanRouterCore

/// A generated DSO: locations with providers, schedules, the PMS's existing
/// appointments and a month of acceptances, all as CloudEvents of the contract.
struct DSO {
    struct Location {
        var id: String
        var zone: TimeZone
        var dentists: [String]
        var injectors: [String]
        /// An oral surgeon at every other location (the first, third, …): the default implant-placement rule
        /// requires one and falls back to a dentist where there is none.
        var surgeons: [String]
    }

    struct Acceptance {
        var at: Date
        var event: CloudEvent
        var tier: String
        var planID: String
        var locationID: String
        var patientID: String
        var providerID: String
    }

    var locations: [Location] = []
    var schedules: [CloudEvent] = []
    var appointments: [CloudEvent] = []
    var acceptances: [Acceptance] = []
    /// Every plan presented (accepted or not), 15 minutes before its acceptance time.
    var presentations: [(at: Date, event: CloudEvent)] = []

    static let zones = [
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu",
    ]

    /// Procedures per tier with their fees (cents) and relative weight.
    static let cases: [String: [(weight: Double, procedures: [(String, String, Int64, CodeSystem?)])]] = [
        "surgical": [
            (
                0.55,
                [
                    ("D6010", "Surgical placement of implant body", 240_000, nil),
                    ("D6065", "Implant supported porcelain crown", 180_000, nil),
                ]
            ),
            (0.15, [("D6114", "Implant/abutment supported fixed denture, maxillary", 2_400_000, nil)]),
            (
                0.30,
                [
                    ("D7210", "Surgical extraction of erupted tooth", 40_000, nil),
                    ("D6010", "Surgical placement of implant body", 250_000, nil),
                ]
            ),
        ],
        "restorative": [
            (0.50, [("D2740", "Crown - porcelain/ceramic", 135_000, nil)]),
            (0.30, [("D3330", "Endodontic therapy, molar", 110_000, nil), ("D2740", "Crown - porcelain/ceramic", 135_000, nil)]),
            (
                0.20,
                [
                    ("D6240", "Pontic - porcelain fused to high noble", 130_000, nil),
                    ("D6750", "Retainer crown - porcelain fused", 125_000, nil),
                ]
            ),
        ],
        "aesthetic": [
            (0.60, [("BOTOX-20U", "Botulinum toxin, 20 units", 42_000, .service)]),
            (0.40, [("FILLER-1ML", "Hyaluronic acid filler, 1 ml", 75_000, .service)]),
        ],
        "add_on": [
            (0.40, [("D1351", "Sealant - per tooth", 6_500, nil)]),
            // Two quadrants: the rules make each its own visit, the second routed a week after the first is completed.
            (
                0.40,
                [
                    ("D4341", "Periodontal scaling and root planing, 4+ teeth, upper right", 28_000, nil),
                    ("D4341", "Periodontal scaling and root planing, 4+ teeth, lower right", 28_000, nil),
                ]
            ),
            (0.20, [("D0150", "Comprehensive oral evaluation", 12_000, nil)]),
        ],
    ]

    init(model m: SimulationModel, start: Date, rng: inout SplitMix64) {
        let names = ["Maria", "James", "Aiko", "Olu", "Priya", "Tom", "Lena", "Diego", "Sofia", "Noah"]
        for i in 0..<m.locations {
            let loc = Location(
                id: "sim-loc-\(i + 1)", zone: TimeZone(identifier: DSO.zones[i % DSO.zones.count])!,
                dentists: (1...m.dentistsPerLocation).map { "sim-loc-\(i + 1)-dr\($0)" },
                injectors: (1...max(1, m.injectorsPerLocation)).map { "sim-loc-\(i + 1)-inj\($0)" },
                surgeons: i % 2 == 0 ? ["sim-loc-\(i + 1)-os1"] : [])
            locations.append(loc)
        }
        let ops = (1...m.operatoriesPerLocation).map { "op-\($0)" }
        // Schedules for the month plus the offer horizon; the PMS's own bookings fill part of them.
        let scheduleDays = m.days + 100
        var apptCounter = 0
        for loc in locations {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = loc.zone
            let first = cal.startOfDay(for: start)
            var blocks: [ScheduleChanged.Block] = []
            for d in 0..<scheduleDays {
                let day = cal.date(byAdding: .day, value: d, to: first)!
                let wd = cal.component(.weekday, from: day)
                guard wd != 1 && wd != 7 else { continue }
                for p in loc.dentists + loc.injectors + loc.surgeons {
                    let open = cal.date(bySettingHour: 8, minute: 0, second: 0, of: day)!
                    let close = cal.date(bySettingHour: 17, minute: 0, second: 0, of: day)!
                    blocks.append(ScheduleChanged.Block(providerID: p, start: open, end: close))
                    // Existing appointments: walk the day, booking ~existingBookedShare of it.
                    var t = open
                    while t < close {
                        let length = [30, 60, 60, 90][Int(rng.next() % 4)]
                        let end = t.addingTimeInterval(Double(length * 60))
                        if end > close { break }
                        if Double(rng.next() % 1000) / 1000 < m.existingBookedShare {
                            apptCounter += 1
                            let op = loc.injectors.contains(p) ? ops.last! : ops[Int(rng.next() % UInt64(ops.count - 1))]
                            appointments.append(
                                CloudEvent(
                                    id: "sim-appt-\(apptCounter)", source: "simulator/pms", time: start,
                                    data: AppointmentChanged(
                                        organizationID: m.organizationID, locationID: loc.id, appointmentID: "existing-\(apptCounter)",
                                        changedAt: start.addingTimeInterval(-86_400), status: .scheduled,
                                        patientID: "existing-patient-\(apptCounter)",
                                        providerID: p, operatoryID: op, start: t, lengthMinutes: length)))
                        }
                        t = end
                    }
                }
            }
            let last = cal.date(byAdding: .day, value: scheduleDays - 1, to: first)!
            let providers =
                loc.dentists.map { ScheduleChanged.Provider(id: $0, roles: [.dentist], operatoryIDs: Array(ops.dropLast())) }
                + loc.injectors.map { ScheduleChanged.Provider(id: $0, roles: [.injector], operatoryIDs: Array(ops.suffix(1))) }
                + loc.surgeons.map { ScheduleChanged.Provider(id: $0, roles: [.oralSurgeon], operatoryIDs: Array(ops.dropLast())) }
            guard let from = DSO.date(first, cal), let to = DSO.date(last, cal) else { continue }
            schedules.append(
                CloudEvent(
                    id: "sim-schedule-\(loc.id)", source: "simulator/pms", time: start,
                    data: ScheduleChanged(
                        organizationID: m.organizationID, locationID: loc.id, changedAt: start.addingTimeInterval(-86_400),
                        timeZone: loc.zone.identifier, from: from, to: to, providers: providers, blocks: blocks)))
        }
        // A month of acceptances at random business-hour moments.
        let mix = m.tierMix.sorted { $0.key < $1.key }
        let total = mix.map(\.value).reduce(0, +)
        for i in 0..<m.plans {
            let loc = locations[Int(rng.next() % UInt64(locations.count))]
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = loc.zone
            var at: Date
            repeat {
                let day = cal.date(byAdding: .day, value: Int(rng.next() % UInt64(m.days)), to: cal.startOfDay(for: start))!
                at = day.addingTimeInterval(Double(8 * 3600 + Int(rng.next() % (9 * 3600))))
            } while [1, 7].contains(cal.component(.weekday, from: at))
            var pick = Double(rng.next() % 1_000_000) / 1_000_000 * total
            var tier = mix.last?.key ?? "add_on"
            for (t, share) in mix {
                pick -= share
                if pick < 0 {
                    tier = t
                    break
                }
            }
            let options = DSO.cases[tier] ?? DSO.cases["add_on", default: []]
            var w = Double(rng.next() % 1_000_000) / 1_000_000
            var procs = options.last?.procedures ?? []
            for o in options {
                w -= o.weight
                if w < 0 {
                    procs = o.procedures
                    break
                }
            }
            let provider = tier == "aesthetic" ? loc.injectors[0] : loc.dentists[Int(rng.next() % UInt64(loc.dentists.count))]
            let roll = Double(rng.next() % 1000) / 1000
            var patient = PlanAccepted.Patient(
                id: "sim-patient-\(i + 1)", firstName: names[i % names.count], preferred: .phone, smsConsent: false)
            if roll < m.smsShare {
                patient.phone = "+1555\(1_000_000 + i)"
                patient.preferred = .sms
                patient.smsConsent = true
            } else if roll < m.smsShare + m.emailOnlyShare {
                patient.email = "patient\(i + 1)@example.com"
                patient.preferred = .email
            }
            if Double(rng.next() % 1000) / 1000 < m.stillInOfficeShare { patient.inOffice = true }
            let procedures = procs.map { code, desc, fee, system in
                PlanProcedure(system: system, code: code, description: desc, feeCents: fee, minutes: system == nil ? nil : 30)
            }
            let planID = "sim-plan-\(i + 1)"
            let presentedAt = at.addingTimeInterval(-15 * 60)
            let presented = PlanPresented(
                organizationID: m.organizationID, locationID: loc.id, planID: planID, presentedAt: presentedAt,
                patientID: "sim-patient-\(i + 1)", providerID: provider, procedures: procedures, totalFeeCents: procs.map(\.2).reduce(0, +))
            presentations.append(
                (
                    presentedAt,
                    CloudEvent(
                        id: "sim-present-\(i + 1)", source: "simulator/\(loc.id)", time: presentedAt, subject: planID, data: presented)
                ))
            // The patient says yes to `accept_presented` of the plans; the rest are only presented.
            guard Double(rng.next() % 1_000_000) / 1_000_000 < m.acceptPresented else { continue }
            let data = PlanAccepted(
                organizationID: m.organizationID, locationID: loc.id, planID: planID, acceptedAt: at, acceptedVia: .chair, patient: patient,
                providerID: provider, procedures: procedures, totalFeeCents: procs.map(\.2).reduce(0, +))
            acceptances.append(
                Acceptance(
                    at: at,
                    event: CloudEvent(id: "sim-accept-\(i + 1)", source: "simulator/\(loc.id)", time: at, subject: planID, data: data),
                    tier: tier, planID: planID, locationID: loc.id, patientID: "sim-patient-\(i + 1)", providerID: provider))
        }
        acceptances.sort { $0.at < $1.at }
        presentations.sort { $0.at < $1.at }
    }

    /// The calendar's date of `d` in its zone.
    static func date(_ d: Date, _ cal: Calendar) -> LocalDate? {
        let c = cal.dateComponents([.year, .month, .day], from: d)
        guard let year = c.year, let month = c.month, let day = c.day else { return nil }
        return LocalDate(year: year, month: month, day: day)
    }
}
