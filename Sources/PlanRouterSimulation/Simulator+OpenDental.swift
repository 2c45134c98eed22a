import Foundation
import PlanRouterCore
import PlanRouterStore

/// What the simulator knows about the practices it plays inside the Open Dental emulator
/// (`--pms opendental`): the numbers the emulator gave its records, and its tally of the
/// events the connector and the booking service produced.
struct PracticeState {
    struct Office {
        var customerKey: String
        var zone: TimeZone
        /// Simulator provider id -> ProvNum; operatory name -> OperatoryNum; a provider's operatories.
        var providers: [String: Int64] = [:]
        var operatories: [String: Int64] = [:]
        var providerOps: [String: [Int64]] = [:]
        /// The patient the practice's existing appointments belong to (they are not part of the month).
        var regulars: Int64 = 0
    }

    /// A presented plan: its Active plan and procedures, and the signed (Saved) copy once accepted.
    struct Plan {
        var locationID: String
        var patNum: Int64
        var active: Int64
        var procNums: [Int64]
        var signed: Int64?
        /// The connector's plan id (`<office>-tp-<TreatPlanNum of the signed copy>`).
        var connectorID: String?
    }

    var offices: [String: Office] = [:]
    var plans: [String: Plan] = [:]
    /// Connector plan id -> simulator plan id.
    var simulatorPlan: [String: String] = [:]
    /// Locations written to since the connector last caught up.
    var dirty: Set<String> = []
    /// Distinct event ids per topic the connector and the booking service wrote to the outbox.
    var tally: [String: Set<String>] = [:]
    var outboxCursor: Int64 = 0
    /// Locations whose calendars were written: the connector's reference poll must read them too.
    var calendarsWritten: Set<String> = []
    var presented = 0
    var signed = 0

    func count(_ topic: String) -> Int { tally[topic]?.count ?? 0 }
}

extension Simulator {
    var openDental: OpenDentalPractice {
        get throws {
            guard let p = settings.openDental else { throw SimulationError(description: "--pms opendental needs the emulator's URL") }
            return p
        }
    }

    // MARK: Setting up the practices

    /// Writes the DSO into the emulator, one office per location: providers, operatories, the
    /// providers' hours for the month and beyond, and the practice's existing appointments.
    /// The edits are stamped two days before the month, so they are history when it starts.
    func setUpPractice(_ dso: DSO) async throws {
        let od = try openDental
        try await od.createOffices(model)
        try await od.setClock(settings.start.addingTimeInterval(-2 * 86_400))
        for loc in dso.locations {
            var office = PracticeState.Office(customerKey: "\(loc.id)-key", zone: loc.zone)
            let people = loc.dentists + loc.injectors + loc.surgeons
            let made = try await od.practice(
                office.customerKey,
                people.map { p in
                    var action: JSONObject = [
                        "do": "provider", "abbr": .string(String(p.split(separator: "-").last ?? "DOC").uppercased()),
                    ]
                    // The surgeon's specialty is what the connector reads as the oral_surgeon role.
                    if loc.surgeons.contains(p) { action["specialty"] = "Oral Surgery" }
                    return .object(action)
                })
            for (p, r) in zip(people, made) { office.providers[p] = r["ProvNum"]?.int64Value }
            // As the DSO's calendars have them: the dentists share the first operatories, the injector has the last.
            let names = (1...model.operatoriesPerLocation).map { "op-\($0)" }
            let owners = names.enumerated().map { i, _ in
                i == names.count - 1 ? loc.injectors[0] : loc.dentists[i % loc.dentists.count]
            }
            let ops = try await od.practice(
                office.customerKey,
                zip(names, owners).map {
                    .object(["do": "operatory", "name": .string($0), "prov_dentist": .int(office.providers[$1] ?? 0)])
                })
            for (n, r) in zip(names, ops) { office.operatories[n] = r["OperatoryNum"]?.int64Value }
            for d in loc.dentists + loc.surgeons { office.providerOps[d] = names.dropLast().compactMap { office.operatories[$0] } }
            for i in loc.injectors { office.providerOps[i] = names.suffix(1).compactMap { office.operatories[$0] } }

            var actions: [JSONValue] = [.object(["do": "patient", "fname": "Regular", "lname": "Patients"])]
            for e in dso.schedules {
                guard let s = try? e.decode(ScheduleChanged.self), s.locationID == loc.id else { continue }
                for b in s.blocks {
                    let from = LocalTimestamp(b.start, in: loc.zone).description.split(separator: " ")
                    let to = LocalTimestamp(b.end, in: loc.zone).description.split(separator: " ")
                    actions.append(
                        .object([
                            "do": "schedule", "date": .string(String(from[0])), "start": .string(String(from[1])),
                            "stop": .string(String(to[1])), "prov_num": .int(office.providers[b.providerID] ?? 0),
                            "operatories": .array((office.providerOps[b.providerID] ?? []).map { .int($0) }),
                        ]))
                }
            }
            let booked = try await od.practice(office.customerKey, actions)
            office.regulars = booked[0]["PatNum"]?.int64Value ?? 0
            let existing = dso.appointments.compactMap { try? $0.decode(AppointmentChanged.self) }.filter { $0.locationID == loc.id }
            let apts = try await od.practice(
                office.customerKey,
                existing.map { a in
                    .object([
                        "do": "book", "pat_num": .int(office.regulars), "op": .int(office.operatories[a.operatoryID ?? ""] ?? 0),
                        "prov_num": .int(office.providers[a.providerID] ?? 0), "at": .string(RFC3339.format(a.start)),
                        "pattern": .string(String(repeating: "X", count: max(1, (a.lengthMinutes ?? 60) / 5))),
                    ])
                })
            // The front desk breaks a few of the month's existing appointments, a day or two ahead.
            let end = settings.start.addingTimeInterval(Double(model.days) * 86_400)
            for (a, r) in zip(existing, apts) where a.start > settings.start && a.start < end {
                guard let n = r["AptNum"]?.int64Value, chance(model.brokenShare) else { continue }
                let at = max(settings.start, a.start.addingTimeInterval(-uniform(1, 48) * 3600))
                agenda.append((at, .breakAppointment(locationID: loc.id, aptNum: n)))
            }
            practice.offices[loc.id] = office
            practice.dirty.insert(loc.id)
            practice.calendarsWritten.insert(loc.id)
        }
        try await setClock(settings.start.addingTimeInterval(-3600))
        // One cancellation per office just before the month moves the connector's appointment
        // watermark past the set-up stamps; without it every poll would read the whole calendar again.
        for (id, office) in practice.offices.sorted(by: { $0.key < $1.key }) {
            if let first = try await od.practice(
                office.customerKey,
                [
                    .object([
                        "do": "book", "pat_num": .int(office.regulars), "op": .int(office.operatories.values.min() ?? 0), "prov_num": 0,
                        "at": .string(RFC3339.format(settings.start.addingTimeInterval(-86_400))), "pattern": "X",
                    ])
                ]
            ).first?["AptNum"]?.int64Value {
                _ = try await od.practice(office.customerKey, [.object(["do": "break", "apt_num": .int(first)])])
            }
            practice.dirty.insert(id)
        }
    }

    // MARK: The month's moments

    /// Presents plans in the chair (patient, charted procedures on an Active plan) and signs the accepted ones.
    func presentAndSign(_ shown: [CloudEvent], _ accepted: [CloudEvent]) async throws {
        let od = try openDental
        var byOffice: [String: [PlanPresented]] = [:]
        for e in shown { if let p = try? e.decode(PlanPresented.self) { byOffice[p.locationID, default: []].append(p) } }
        for (loc, plans) in byOffice.sorted(by: { $0.key < $1.key }) {
            guard let office = practice.offices[loc] else { continue }
            let patients = try await od.practice(office.customerKey, plans.map { patientAction($0) })
            let made = try await od.practice(
                office.customerKey,
                zip(plans, patients).map { p, r in
                    .object([
                        "do": "present_plan", "pat_num": .int(r["PatNum"]?.int64Value ?? 0),
                        "prov_num": .int(office.providers[p.providerID ?? ""] ?? 0),
                        "procedures": .array(
                            p.procedures.map {
                                .object(["code": .string($0.code), "descript": .string($0.description), "fee_cents": .int($0.feeCents)])
                            }),
                    ])
                })
            for ((p, patient), r) in zip(zip(plans, patients), made) {
                practice.plans[p.planID] = PracticeState.Plan(
                    locationID: loc, patNum: patient["PatNum"]?.int64Value ?? 0, active: r["TreatPlanNum"]?.int64Value ?? 0,
                    procNums: r["ProcNums"]?.arrayValue?.compactMap(\.int64Value) ?? [])
            }
            practice.presented += plans.count
            practice.dirty.insert(loc)
        }
        for e in accepted {
            guard let id = e.subject, var plan = practice.plans[id], let office = practice.offices[plan.locationID] else { continue }
            // The insurance estimate the front desk records: medspa (aesthetic) work is paid in cash, the
            // dental tiers' patients pay about half. The connector reads it as the patient portion (PatAmt),
            // the base of the deposit.
            let share = acceptances[id]?.tier == "aesthetic" ? 1.0 : 0.5
            let patAmts = ((try? e.decode(PlanAccepted.self))?.procedures ?? []).map { JSONValue.double(Double($0.feeCents) * share / 100) }
            let signed = try await od.practice(
                office.customerKey, [.object(["do": "sign_plan", "treat_plan_num": .int(plan.active), "pat_amts": .array(patAmts)])])
            guard let copy = signed.first?["TreatPlanNum"]?.int64Value else { continue }
            let connectorID = "\(plan.locationID)-tp-\(copy)"
            plan.signed = copy
            plan.connectorID = connectorID
            practice.plans[id] = plan
            practice.simulatorPlan[connectorID] = id
            // The cluster knows the case by the connector's id; the patient's behaviour is the acceptance's.
            acceptances[connectorID] = acceptances[id]
            practice.signed += 1
            practice.dirty.insert(plan.locationID)
        }
    }

    /// The patient's chart: contact details and texting consent as the acceptance has them.
    func patientAction(_ p: PlanPresented) -> JSONValue {
        let patient = (try? acceptances[p.planID]?.event.decode(PlanAccepted.self))?.patient
        var a: JSONObject = ["do": "patient", "fname": .string(patient?.firstName ?? "Pat"), "lname": "Sim"]
        if let phone = patient?.phone { a["phone"] = .string(String(phone.dropFirst(2))) }
        if let email = patient?.email { a["email"] = .string(email) }
        a["txt_msg_ok"] = .string(patient.map { $0.smsConsent ? "Yes" : "No" } ?? "Unknown")
        let prefer: [PreferredChannel: String] = [.sms: "TextMessage", .email: "Email", .phone: "HmPhone"]
        a["prefer"] = .string(patient.flatMap { prefer[$0.preferred] } ?? "None")
        return .object(a)
    }

    /// The front desk (or a coordinator on the phone) books the plan's procedures in the PMS, a
    /// weekday 2-11 days ahead at 09:00-15:00 office time, if the case is still open.
    func bookAtFrontDesk(plan id: String, at now: Date) async throws {
        let sim = practice.simulatorPlan[id] ?? id
        guard let plan = practice.plans[sim], let connectorID = plan.connectorID, let office = practice.offices[plan.locationID],
            let a = acceptances[sim]
        else { return }
        let organization = model.organizationID
        let status = try await pool.withConnection {
            try await SimulationRepository.planStatus(organizationID: organization, planID: connectorID, on: $0)
        }
        guard let status = status.flatMap(CaseStatus.init(rawValue:)), status.isOpen else { return }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = office.zone
        var day = cal.startOfDay(for: now.addingTimeInterval(Double(2 + Int(rng.next() % 10)) * 86_400))
        while [1, 7].contains(cal.component(.weekday, from: day)) { day = day.addingTimeInterval(86_400) }
        let start = day.addingTimeInterval(Double(9 * 3600 + Int(rng.next() % 12) * 1800))
        _ = try await openDental.practice(
            office.customerKey,
            [
                .object([
                    "do": "book", "pat_num": .int(plan.patNum), "op": .int(office.providerOps[a.providerID]?.first ?? 0),
                    "prov_num": .int(office.providers[a.providerID] ?? 0), "at": .string(RFC3339.format(start)),
                    "pattern": .string(String(repeating: "X", count: 12)), "proc_nums": .array(plan.procNums.map { .int($0) }),
                    "front_desk": true,
                ])
            ])
        counters["booked_pms", default: 0] += 1
        practice.dirty.insert(plan.locationID)
    }

    /// The patient declines at follow-up: the front desk makes the signed plan Inactive.
    func declineInPractice(plan id: String) async throws {
        guard let plan = practice.plans[practice.simulatorPlan[id] ?? id], let signed = plan.signed,
            let office = practice.offices[plan.locationID]
        else { return }
        _ = try await openDental.practice(office.customerKey, [.object(["do": "inactivate_plan", "treat_plan_num": .int(signed)])])
        counters["declined", default: 0] += 1
        practice.dirty.insert(plan.locationID)
    }

    func breakInPractice(locationID: String, aptNum: Int64) async throws {
        guard let office = practice.offices[locationID] else { return }
        _ = try await openDental.practice(office.customerKey, [.object(["do": "break", "apt_num": .int(aptNum)])])
        counters["broken_pms", default: 0] += 1
        practice.dirty.insert(locationID)
    }

    // MARK: Waiting for the connector

    /// Waits until the connector has read everything written into the emulator since it last
    /// caught up: for every office written to, two change polls must start after the writes
    /// (the first read them; the second starts only after the first committed its events,
    /// since one office's polls run one after another), and two reference polls after its
    /// calendars were written.
    func waitForConnector() async throws {
        let od = try openDental
        let dirty = practice.dirty.sorted()
        let calendars = practice.calendarsWritten
        practice.dirty = []
        practice.calendarsWritten = []
        let deadline = ContinuousClock.now + .seconds(120)
        for loc in dirty {
            guard let key = practice.offices[loc]?.customerKey else { continue }
            let before = try await od.summary(key)
            for counter in calendars.contains(loc) ? ["poll_starts", "reference_starts"] : ["poll_starts"] {
                let started = before[counter]?.intValue ?? 0
                while (try await od.summary(key)[counter]?.intValue ?? 0) < started + 2 {
                    guard ContinuousClock.now < deadline else {
                        throw SimulationError(
                            description:
                                "the Open Dental connector did not poll office \(loc) within 120 s: is `planrouter connector opendental` running?"
                        )
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }

    /// Brings the tally of produced events up to date and derives the counts the workers must
    /// reach; true when the write-back has taken every booking request and finished every write.
    func connectorQuiet() async throws -> Bool {
        try await tallyConnectorEvents()
        let t = settings.topics
        published.acceptances = practice.count(t[.planAccepted])
        published.presentations = 0
        published.offerInputs = practice.count(t[.scheduleChanged]) + practice.count(t[.appointmentChanged])
        published.lifecycleInputs = practice.count(t[.appointmentChanged]) + practice.count(t[.planChanged])
        let group = settings.writebackGroup
        let (taken, unfinished) = try await pool.withConnection { conn in
            (
                try await SimulationRepository.inboxCount(consumer: group, on: conn),
                try await SimulationRepository.unfinishedWritebacks(on: conn)
            )
        }
        return taken >= practice.count(t[.appointmentRequests]) && unfinished == 0
    }

    func tallyConnectorEvents() async throws {
        let t = settings.topics
        let topics = [t[.planAccepted], t[.planChanged], t[.appointmentChanged], t[.scheduleChanged], t[.appointmentRequests]]
        // Rows commit out of id order for a moment; re-reading the last few hundred ids catches a late one.
        let after = max(0, practice.outboxCursor - 500)
        let rows = try await pool.withConnection { conn in
            try await SimulationRepository.outboxRows(topics: topics, after: after, on: conn)
        }
        for r in rows {
            practice.tally[r.topic, default: []].insert(r.eventID)
            practice.outboxCursor = max(practice.outboxCursor, r.id)
        }
    }

    // MARK: The outcome

    /// What the emulated PMS holds at the end, next to the bookings PlanRouter made.
    func practiceOutcome() async throws -> PracticeOutcome {
        let od = try openDental
        var o = PracticeOutcome()
        o.offices = practice.offices.count
        o.presented = practice.presented
        var written: Set<String> = []
        for (loc, office) in practice.offices {
            let s = try await od.summary(office.customerKey)
            o.signed += s["signed_plans"]?.intValue ?? 0
            o.writtenBack += s["written_back"]?.intValue ?? 0
            o.frontDesk += s["front_desk"]?.intValue ?? 0
            o.broken += s["broken"]?.intValue ?? 0
            o.holdBlockoutsMade += s["hold_blockouts_made"]?.intValue ?? 0
            o.holdBlockoutsShown += s["hold_blockouts_now"]?.intValue ?? 0
            for n in s["written_back_ids"]?.arrayValue ?? [] { if let n = n.stringValue { written.insert("\(loc)-apt-\(n)") } }
        }
        let organization = model.organizationID
        let bookings = try await pool.withConnection {
            try await SimulationRepository.bookings(organizationID: organization, on: $0)
        }
        o.bookedInPlanRouter = bookings.count
        for b in bookings {
            if b.writebackStatus == "written", let apt = b.pmsAppointmentID, written.contains(apt) { continue }
            if b.writebackStatus == "refused" { o.refused += 1 }
            o.notInPMS.append(b.planID)
        }
        return o
    }
}
