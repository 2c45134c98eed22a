import Foundation
import PlanRouterCore

/// Random, schema-valid values of every event type from a seed: each optional member is
/// present about half the time, strings mix ASCII, accents, emoji, quotes, backslashes
/// and control characters, times have an offset, and sometimes milliseconds.
struct EventGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func int64(_ r: ClosedRange<Int64>) -> Int64 { Int64.random(in: r, using: &rng) }
    mutating func bool() -> Bool { int(0...1) == 1 }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
    mutating func maybe<T>(_ make: (inout EventGenerator) -> T) -> T? { bool() ? make(&self) : nil }
    mutating func list<T>(_ count: ClosedRange<Int>, _ make: (inout EventGenerator) -> T) -> [T] {
        (0..<int(count)).map { _ in make(&self) }
    }
    mutating func several<E: CaseIterable>(_ type: E.Type, max: Int) -> [E] {
        list(0...max) { g in g.pick(Array(E.allCases)) }
    }

    /// `^[A-Za-z0-9][A-Za-z0-9._:@/-]*$`, up to 40 characters.
    mutating func id(_ prefix: String) -> String {
        let tail = "abcXYZ019._:@/-"
        return prefix + String((0..<int(1...30)).map { _ in pick(Array(tail)) })
    }

    /// 1…max Unicode scalars of free text.
    mutating func text(_ max: Int = 60) -> String {
        let pieces = ["a", "Z", " ", "é", "ñ", "ß", "😀", "\"", "\\", "/", "\n", "\t", "\u{1}", "<b>", "0", "€", "日本"]
        var s = ""
        let target = int(1...max)
        while s.unicodeScalars.count < target { s += pick(pieces) }
        while s.unicodeScalars.count > max { s.unicodeScalars.removeLast() }
        return s.isEmpty ? "x" : s
    }

    /// An instant between 2020 and 2030; a quarter with milliseconds (read the way the parser reads them).
    mutating func date() -> Date {
        let d = Date(timeIntervalSince1970: Double(int(1_577_836_800...1_893_456_000)))
        guard int(0...3) == 0 else { return d }
        var s = RFC3339.format(d)
        s.removeLast()  // "Z"
        return RFC3339.parse(s + "." + String(format: "%03d", int(1...999)) + "Z")!
    }

    mutating func offsetDateTime() -> OffsetDateTime {
        let offset = int(-48...56) * 15 * 60  // -12:00 … +14:00
        return OffsetDateTime(rfc3339: OffsetDateTime(date(), utcOffsetSeconds: offset).rfc3339)!
    }

    mutating func localDate() -> LocalDate {
        let year = int(2020...2030)
        let month = int(1...12)
        return LocalDate(year: year, month: month, day: int(1...(month == 2 ? 28 : 30)))!
    }

    mutating func cdt() -> String { "D" + String(format: "%04d", int(0...9999)) }
    mutating func serviceCode() -> String { pick(["BOTOX-20U", "FILLER-1SYR", "LASER.IPL", "HYDRA_2"]) }
    mutating func code() -> String { bool() ? cdt() : serviceCode() }
    mutating func phone() -> String { "+1" + String(int(2_000_000_000...9_999_999_999)) }
    mutating func email() -> String { pick(["dev", "m.k", "ana+tp"]) + "@example.com" }
    mutating func link() -> String { "https://book.planrouter.dev/b/" + id("t") }
    mutating func tier() -> Tier { pick([.surgical, .restorative, .aesthetic, .addOn, Tier("implants-2"), Tier("x")]) }
    mutating func cents(_ max: Int64 = 100_000_000) -> Int64 { pick([0, 1, max, int64(0...max)]) }

    mutating func procedure() -> PlanProcedure {
        let system: CodeSystem? = pick([nil, .cdt, .service])
        return PlanProcedure(
            system: system, code: system == .service ? serviceCode() : cdt(), description: text(200),
            tooth: maybe { g in g.pick(["30", "#30", "UR", "A"]) }, surface: maybe { g in g.pick(["MOD", "O", "B"]) },
            feeCents: cents(10_000_000), minutes: maybe { g in g.int(5...480) }, role: maybe { g in g.pick(Array(ProviderRole.allCases)) })
    }

    mutating func planAccepted() -> PlanAccepted {
        let patient = PlanAccepted.Patient(
            id: id("pat-"), firstName: text(60), phone: maybe { g in g.phone() }, email: maybe { g in g.email() },
            preferred: pick(Array(PreferredChannel.allCases)), smsConsent: bool(), emailConsent: maybe { g in g.bool() },
            inOffice: maybe { g in g.bool() },
            preferences: maybe { g in
                PlanAccepted.Preferences(
                    timesOfDay: g.maybe { g in g.several(TimeOfDay.self, max: 3) },
                    weekdays: g.maybe { g in g.several(Weekday.self, max: 7) })
            })
        return PlanAccepted(
            organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), acceptedAt: date(),
            acceptedVia: pick(Array(AcceptanceSource.allCases)), patient: patient, providerID: id("prov-"),
            coordinatorID: maybe { g in g.id("tc-") },
            procedures: list(1...6) { g in g.procedure() }, totalFeeCents: cents(), patientPortionCents: maybe { g in g.cents() })
    }

    mutating func planChanged() -> PlanChanged {
        PlanChanged(
            organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), changedAt: date(),
            change: pick(Array(PlanChange.allCases)),
            reason: maybe { g in g.text(500) }, procedures: maybe { g in g.list(1...4) { g in g.procedure() } },
            totalFeeCents: maybe { g in g.cents() }, patientPortionCents: maybe { g in g.cents() })
    }

    mutating func planClassified() -> PlanClassified {
        PlanClassified(
            organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), patientID: id("pat-"), providerID: id("prov-"),
            coordinatorID: maybe { g in g.id("tc-") }, acceptedAt: date(), classifiedAt: date(), tier: tier(),
            path: pick(Array(CasePath.allCases)), chairMinutes: int(5...1440), valueCents: cents(), depositCents: cents(),
            firstOfferSLAMinutes: int(1...10080), providerRole: maybe { g in g.pick(Array(ProviderRole.allCases)) },
            rulesVersion: int(0...1000),
            reasons: list(0...8) { g in g.text(300) })
    }

    mutating func appointmentChanged() -> AppointmentChanged {
        AppointmentChanged(
            organizationID: id("org-"), locationID: id("loc-"), appointmentID: id("appt-"), changedAt: date(),
            status: pick(Array(AppointmentStatus.allCases)), patientID: id("pat-"), providerID: id("prov-"),
            operatoryID: maybe { g in g.id("op-") },
            start: date(), lengthMinutes: maybe { g in g.int(5...720) },
            pattern: maybe { g in String((0..<g.int(1...144)).map { _ in g.pick(["X", "/"] as [Character]) }) },
            planID: maybe { g in g.id("tp-") }, procedureCodes: maybe { g in g.list(0...5) { g in g.code() } })
    }

    mutating func scheduleChanged() -> ScheduleChanged {
        ScheduleChanged(
            organizationID: id("org-"), locationID: id("loc-"), changedAt: date(),
            timeZone: maybe { g in g.pick(["America/New_York", "Europe/Berlin", "Asia/Kolkata"]) }, from: localDate(), to: localDate(),
            providers: maybe { g in
                g.list(0...3) { g in
                    ScheduleChanged.Provider(
                        id: g.id("prov-"), roles: g.maybe { g in g.several(ProviderRole.self, max: 3) },
                        operatoryIDs: g.maybe { g in g.list(0...3) { g in g.id("op-") } })
                }
            },
            blocks: list(0...5) { g in
                ScheduleChanged.Block(
                    providerID: g.id("prov-"), start: g.date(), end: g.date(),
                    operatoryIDs: g.maybe { g in g.list(0...3) { g in g.id("op-") } })
            },
            blockouts: maybe { g in
                g.list(0...3) { g in
                    ScheduleChanged.Blockout(
                        start: g.date(), end: g.date(), type: g.pick(["do_not_schedule", "crown_only", "Lunch & learn"]),
                        providerID: g.maybe { g in g.id("prov-") }, operatoryIDs: g.maybe { g in g.list(0...3) { g in g.id("op-") } })
                }
            })
    }

    mutating func patientMessage() -> PatientMessage {
        PatientMessage(
            messageID: id("msg-"), organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), patientID: id("pat-"),
            channel: pick(Array(MessageChannel.allCases)), to: bool() ? phone() : email(), kind: pick(Array(MessageKind.allCases)),
            subject: maybe { g in g.bool() ? "" : g.text(200) }, body: text(1600), link: maybe { g in g.link() },
            openings: maybe { g in
                g.list(0...10) { g in
                    PatientMessage.Opening(
                        start: g.offsetDateTime(), end: g.offsetDateTime(), providerID: g.id("prov-"),
                        operatoryID: g.maybe { g in g.id("op-") },
                        localTime: g.maybe { g in g.text(80) })
                }
            },
            sendAfter: maybe { g in g.date() })
    }

    mutating func depositRequest() -> DepositRequest {
        DepositRequest(
            requestID: id("dep-"), organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), patientID: id("pat-"),
            amountCents: pick([1, 100_000_000, int64(1...100_000_000)]), currency: pick(["USD", "CAD", "EUR"]),
            tier: maybe { g in g.tier() },
            reason: maybe { g in g.bool() ? "" : g.text(300) }, link: maybe { g in g.link() }, dueBy: maybe { g in g.date() })
    }

    mutating func coordinatorTask() -> CoordinatorTask {
        CoordinatorTask(
            taskID: String(int(1...1_000_000)), organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), ownerID: id("tc-"),
            kind: pick(Array(TaskKind.allCases)), urgent: bool(), reason: text(500), createdAt: date(),
            dueAt: maybe { g in g.date() },
            context: maybe { g -> JSONObject in
                [
                    "tier": .string(g.tier().rawValue), "value_cents": .int(g.cents()), "why": .string(g.text()), "openings": [],
                    "note": .null,
                ]
            })
    }

    mutating func appointmentRequest() -> AppointmentRequest {
        AppointmentRequest(
            requestID: id("apptreq-"), organizationID: id("org-"), locationID: id("loc-"), planID: id("tp-"), patientID: id("pat-"),
            providerID: id("prov-"), operatoryID: maybe { g in g.id("op-") }, start: offsetDateTime(), end: offsetDateTime(),
            procedureCodes: maybe { g in g.list(0...5) { g in g.code() } }, bookedVia: pick(Array(BookedVia.allCases)), bookedAt: date())
    }
}
