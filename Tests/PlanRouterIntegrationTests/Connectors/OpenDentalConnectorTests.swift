import Foundation
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterTelemetry
import PlanRouterWorkers
import Testing

@testable import PlanRouterConnectors

/// The Open Dental connector against the emulator over HTTP and a real PostgreSQL: events land
/// in the outbox (the relay's tests cover publishing it).
@Suite(.serialized) struct OpenDentalConnectorTests {
    @Test func aSignedPlanBecomesOneAcceptanceWithItsFieldsAndARepollAddsNothing() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, plan, _) = try f.presentCrown(a)
        let saved = try f.emulator.signPlan(a.key, treatPlanNum: plan, saved: true, patAmts: [400, 110.5])
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            #expect(try await p.pollChanges().events == 1)
            #expect(try await p.pollChanges().events == 0)
        }
        let events = try await f.outbox("plan.accepted")
        try #require(events.count == 1)
        let d = try #require(events[0]["data"])
        #expect(events[0]["source"]?.stringValue == "opendental/office-a")
        #expect(d["plan_id"]?.stringValue == "office-a-tp-\(saved)")
        #expect(d["location_id"]?.stringValue == "loc-a")
        #expect(d["organization_id"]?.stringValue == "org-1")
        #expect(d["provider_id"]?.stringValue == "office-a-prov-\(a.provider)")
        #expect(d["acceptance_source"]?.stringValue == "chair")
        #expect(d["accepted_at"]?.stringValue == "2026-12-01T15:00:00Z")
        #expect(d["total_fee_cents"]?.int64Value == 156_050)
        #expect(d["patient_portion_cents"]?.int64Value == 51_050)
        let procs = try #require(d["procedures"]?.arrayValue)
        #expect(procs.map { $0["code"]?.stringValue } == ["D2740", "D2950"])
        #expect(procs.map { $0["fee_cents"]?.int64Value } == [125_000, 31_050])
        #expect(procs.first?["tooth"]?.stringValue == "30")
        let patient = try #require(d["patient"])
        #expect(patient["id"]?.stringValue == "office-a-pat-\(pat)")
        #expect(patient["first_name"]?.stringValue == "Ann")
        #expect(patient["phone"]?.stringValue == "+15035550101")
        #expect(patient["sms_consent"]?.boolValue == true)
        #expect(patient["preferred_channel"]?.stringValue == "sms")
        // The Active plan the signed copy was saved from is the same acceptance, not a second one.
        #expect(try await f.count("SELECT count(*)::int8 FROM connector_plans WHERE state = 'accepted'") == 1)
        await f.close()
    }

    @Test func proceduresOnAPlannedAppointmentAreAnAcceptanceWithThePatternsChairTime() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, plan, procs) = try f.presentCrown(a)
        try f.emulator.planAppointment(a.key, patNum: pat, provNum: a.provider, procNums: procs, pattern: "/XXXXXXXXXXXXXXXX/")
        try await f.withServer { (base: String) async throws in #expect(try await f.poller(a, base: base).pollChanges().events == 1) }
        let d = try #require(try await f.outbox("plan.accepted").first?["data"])
        #expect(d["plan_id"]?.stringValue == "office-a-tp-\(plan)")
        #expect(d["acceptance_source"]?.stringValue == "coordinator")
        // 18 five-minute units over two procedures.
        #expect(d["procedures"]?.arrayValue?.map { $0["minutes"]?.intValue } == [45, 45])
        #expect(d["patient_portion_cents"] == nil)
        await f.close()
    }

    @Test func aSignedPlanEditedIsModifiedAndMadeInactiveIsRevoked() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (_, plan, procs) = try f.presentCrown(a)
        try f.emulator.signPlan(a.key, treatPlanNum: plan, saved: false)
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            #expect(try await p.pollChanges().events == 1)
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(600))
            try f.emulator.changeFee(a.key, procNum: procs[0], fee: 1100)
            #expect(try await p.pollChanges().events == 1)
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(1200))
            try f.emulator.inactivatePlan(a.key, treatPlanNum: plan)
            #expect(try await p.pollChanges().events == 1)
            #expect(try await p.pollChanges().events == 0)
        }
        let changes = try await f.outbox("plan.changed").compactMap { $0["data"] }
        #expect(changes.map { $0["change"]?.stringValue } == ["modified", "acceptance_revoked"])
        #expect(changes.first?["total_fee_cents"]?.int64Value == 141_050)
        #expect(try await f.outbox("plan.accepted").count == 1)
        await f.close()
    }

    @Test func aDeletedProcedureOfASavedSignedPlanRevokesIt() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (_, plan, procs) = try f.presentCrown(a)
        try f.emulator.signPlan(a.key, treatPlanNum: plan)
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            #expect(try await p.pollChanges().events == 1)
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(600))
            for n in procs { try f.emulator.deleteProcedure(a.key, procNum: n) }
            #expect(try await p.pollChanges().events == 1)
        }
        #expect(try await f.outbox("plan.changed").first?["data"]?["change"]?.stringValue == "acceptance_revoked")
        await f.close()
    }

    @Test func pagesThroughMoreThanAHundredChangedPlans() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        for i in 0..<130 {
            let (_, plan, _) = try f.presentCrown(a, first: "P\(i)")
            try f.emulator.signPlan(a.key, treatPlanNum: plan, saved: false)
        }
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            #expect(try await p.pollChanges().events == 130)
            // The re-poll's window (the hour of overlap) holds all 130 plans and their 260 procedures
            // again; none changed, so it costs the list pages only, not ~3 reads a plan.
            // A minute later, as the next poll would be: every row's serverDateTime has moved.
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(60))
            let before = f.emulator.requestCounts()[a.key] ?? 0
            #expect(try await p.pollChanges().events == 0)
            let repoll = (f.emulator.requestCounts()[a.key] ?? 0) - before
            #expect(repoll <= 8, "a re-poll of an unchanged burst made \(repoll) requests")
        }
        #expect(Set(try await f.outbox("plan.accepted").compactMap { $0["data"]?["plan_id"]?.stringValue }).count == 130)
        await f.close()
    }

    /// A first poll commits every `plansPerTransaction` plans: when it fails late (here the last
    /// plan's patient answers 500), what it decided before stays written, the watermarks do not
    /// move, and the next poll writes the rest without writing anything twice.
    @Test func aFirstPollThatFailsLateKeepsItsEarlierPlansAndTheRetryWritesOnlyTheRest() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        var last: Int64 = 0
        for i in 0..<(OfficePoller.plansPerTransaction + 30) {
            let (pat, plan, _) = try f.presentCrown(a, first: "P\(i)")
            try f.emulator.signPlan(a.key, treatPlanNum: plan, saved: false)
            last = pat
        }
        f.emulator.inject(.init(status: 500, customerKey: a.key, method: "GET", pathPrefix: "/patients/\(last)"))
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            await #expect(throws: OpenDentalError.self) { try await p.pollChanges() }
            #expect(try await f.outbox("plan.accepted").count == OfficePoller.plansPerTransaction)
            #expect(try await f.count("SELECT count(*)::int8 FROM connector_watermarks") == 0)
            #expect(try await p.pollChanges().events == 30)
        }
        let ids = try await f.outbox("plan.accepted").compactMap { $0["data"]?["plan_id"]?.stringValue }
        #expect(ids.count == OfficePoller.plansPerTransaction + 30 && Set(ids).count == ids.count)
        #expect(try await f.count("SELECT count(*)::int8 FROM connector_watermarks WHERE resource = 'treatplans'") == 1)
        await f.close()
    }

    /// New York falls back at 2026-11-01 02:00 EDT: a plan signed at 01:10 EST is stamped earlier
    /// (as wall time) than one signed at 01:50 EDT before it. The hour of overlap still reads it.
    @Test func aChangeInTheRepeatedHourOfAFallBackIsNotMissed() async throws {
        let f = try await OpenDentalFixture()
        f.emulator.setNow(RFC3339.parse("2026-11-01T04:00:00Z")!)  // 00:00 EDT
        f.clock.set(RFC3339.parse("2026-11-01T04:00:00Z")!)
        let a = try f.addOffice("office-a", location: "loc-a")
        let first = try f.presentCrown(a, first: "First")
        let second = try f.presentCrown(a, first: "Second")
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            f.emulator.setNow(RFC3339.parse("2026-11-01T05:50:00Z")!)  // 01:50 EDT
            f.clock.set(RFC3339.parse("2026-11-01T05:50:00Z")!)
            try f.emulator.signPlan(a.key, treatPlanNum: first.plan, saved: false)
            #expect(try await p.pollChanges().events == 1)
            f.emulator.setNow(RFC3339.parse("2026-11-01T06:10:00Z")!)  // 01:10 EST, the second 01:10
            f.clock.set(RFC3339.parse("2026-11-01T06:10:00Z")!)
            try f.emulator.signPlan(a.key, treatPlanNum: second.plan, saved: false)
            #expect(try await p.pollChanges().events == 1)
        }
        let plans = try await f.outbox("plan.accepted").compactMap { $0["data"]?["plan_id"]?.stringValue }
        #expect(plans == ["office-a-tp-\(first.plan)", "office-a-tp-\(second.plan)"])
        #expect(
            try await f.count(
                "SELECT count(*)::int8 FROM connector_watermarks WHERE resource = 'treatplans' AND watermark = '2026-11-01 01:50:00'")
                == 1)
        await f.close()
    }

    @Test func aRateLimitIsWaitedOutAndThePollResumesFromItsWatermark() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (_, plan, _) = try f.presentCrown(a)
        try f.emulator.signPlan(a.key, treatPlanNum: plan)
        f.emulator.inject(.init(status: 429, retryAfterSeconds: 2, customerKey: a.key, pathPrefix: "/proctps"))
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            let error = await #expect(throws: OpenDentalError.self) { try await p.pollChanges() }
            #expect(error?.kind == .rateLimited(retryAfter: .seconds(2)))
            #expect(try await f.count("SELECT count(*)::int8 FROM connector_watermarks") == 0)
            // The connector waits Retry-After (plus jitter) before the next try.
            let connector = OpenDentalConnector(
                pollers: [p], pool: f.pool, clock: f.clock, health: ConnectorHealth(telemetry: nil), logger: testLogger)
            var backoff = Backoff()
            let wait = await connector.failed(
                p, OpenDentalError(kind: .rateLimited(retryAfter: .seconds(2)), status: 429, message: ""), backoff: &backoff)
            #expect(wait >= .seconds(2))
            #expect(try await p.pollChanges().events == 1)
        }
        #expect(try await f.outbox("plan.accepted").count == 1)
        await f.close()
    }

    @Test func anOfficeWhoseKeyIsRefusedIsUnhealthyWhileAnotherKeepsFlowing() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let b = try f.addOffice("office-b", location: "loc-b")
        f.emulator.setEnabled(false, customerKey: a.key)
        let telemetry = WorkerTelemetry(worker: "connector-opendental")
        let health = ConnectorHealth(telemetry: telemetry)
        try await f.withServer { (base: String) async throws in
            let connector = OpenDentalConnector(
                pollers: [f.poller(a, base: base), f.poller(b, base: base)], pool: f.pool, clock: f.clock, health: health,
                logger: testLogger)
            let running = Running { try await connector.run() }
            let (_, plan, _) = try f.presentCrown(b)
            try f.emulator.signPlan(b.key, treatPlanNum: plan)
            try await eventually("office-b's acceptance and office-a unhealthy") {
                let accepted = try await f.outbox("plan.accepted").count
                let unhealthy = try await f.count(
                    "SELECT count(*)::int8 FROM connector_offices WHERE office_id = 'office-a' AND NOT healthy")
                return accepted == 1 && unhealthy == 1
            }
            await running.stop()
        }
        #expect(health.detail().first?.hasPrefix("office unhealthy: office-a") == true)
        // The office's gauge reads 0 (Prometheus prints it as 0 or 0.0).
        let up = telemetry.text().split(separator: "\n").first {
            $0.hasPrefix("planrouter_connector_office_up{") && $0.contains(#"office="office-a""#)
        }
        #expect(up.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } == 0)
        #expect(try await f.count("SELECT count(*)::int8 FROM connector_offices WHERE office_id = 'office-b' AND healthy") == 1)
        await f.close()
    }

    @Test func aMalformedRecordIsDeadLetteredOnceWithoutBlockingTheOffice() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let bad = try f.presentCrown(a, first: "Bad")
        let good = try f.presentCrown(a, first: "Good")
        try f.emulator.signPlan(a.key, treatPlanNum: bad.plan, saved: false)
        try f.emulator.signPlan(a.key, treatPlanNum: good.plan, saved: false)
        f.emulator.edit(a.key) { $0.treatPlans[bad.plan]?.tpStatus = "Archived?" }
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            let r = try await p.pollChanges()
            #expect(r.events == 1)
            #expect(r.deadLetters == 1)
            #expect(try await p.pollChanges() == .init())
        }
        let letters = try await f.outbox("plan.accepted.dlq")
        try #require(letters.count == 1)
        #expect(letters[0]["office"]?.stringValue == "office-a")
        #expect(letters[0]["table"]?.stringValue == "treatplan")
        #expect(letters[0]["key"]?.stringValue == String(bad.plan))
        #expect(!letters[0].serialized().contains("Secretlast") && !letters[0].serialized().contains("Bad"))
        #expect(try await f.outbox("plan.accepted").first?["data"]?["plan_id"]?.stringValue == "office-a-tp-\(good.plan)")
        await f.close()
    }

    @Test func frontDeskAppointmentsAndSchedulesAreMirrored() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, plan, procs) = try f.presentCrown(a)
        try f.emulator.signPlan(a.key, treatPlanNum: plan, saved: false)
        try f.emulator.addSchedule(
            a.key, date: "2026-12-02", start: "08:00:00", stop: "17:00:00", provNum: a.provider, operatories: [a.operatory])
        try f.emulator.addSchedule(
            a.key, date: "2026-12-02", start: "12:00:00", stop: "13:00:00", operatories: [a.operatory], blockout: "Do not schedule")
        try await f.withServer { (base: String) async throws in
            let p = f.poller(a, base: base)
            #expect(try await p.pollReference().events == 1)
            #expect(try await p.pollReference().events == 0)
            #expect(try await p.pollChanges().events == 1)
            // Hours later, after other plans moved the watermark: the plan is out of the poll's window, the booking still names it.
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(7200))
            _ = try f.presentCrown(a, first: "Other")
            #expect(try await p.pollChanges().events == 0)
            let apt = try f.emulator.book(
                a.key, patNum: pat, op: a.operatory, provNum: a.provider, at: RFC3339.parse("2026-12-02T14:00:00Z")!,
                pattern: "XXXXXXXXXXXX",
                procNums: procs)
            #expect(try await p.pollChanges().events == 1)
            f.emulator.setNow(OpenDentalFixture.now.addingTimeInterval(7800))
            try f.emulator.breakAppointment(a.key, aptNum: apt)
            #expect(try await p.pollChanges().events == 1)
        }
        let schedule = try #require(try await f.outbox("schedule.changed").first?["data"])
        #expect(schedule["blocks"]?.arrayValue?.first?["start"]?.stringValue == "2026-12-02T13:00:00Z")
        #expect(schedule["blockouts"]?.arrayValue?.first?["type"]?.stringValue == "do_not_schedule")
        let appointments = try await f.outbox("appointment.changed").compactMap { $0["data"] }
        #expect(appointments.map { $0["status"]?.stringValue } == ["scheduled", "broken"])
        #expect(appointments.first?["plan_id"]?.stringValue == "office-a-tp-\(plan)")
        #expect(appointments.first?["start"]?.stringValue == "2026-12-02T14:00:00Z")
        await f.close()
    }

    /// A provider's `Specialty` names a ProviderSpecialties definition; an oral-surgery one is the `oral_surgeon`
    /// role in schedule.changed (what the default implant-placement rule requires), a hygienist stays a hygienist.
    @Test func aProviderWhoseSpecialtyIsOralSurgeryIsTheSurgeon() async throws {
        let f = try await OpenDentalFixture()
        let a = try f.addOffice("office-a", location: "loc-a")
        let surgeon = try f.emulator.addProvider(a.key, abbr: "OS1", specialty: "Oral Surgery")
        let hygienist = try f.emulator.addProvider(a.key, abbr: "HYG1", hygienist: true)
        for p in [a.provider, surgeon, hygienist] {
            try f.emulator.addSchedule(
                a.key, date: "2026-12-02", start: "08:00:00", stop: "17:00:00", provNum: p, operatories: [a.operatory])
        }
        try await f.withServer { (base: String) async throws in
            #expect(try await f.poller(a, base: base).pollReference().events == 1)
        }
        let providers = try #require(try await f.outbox("schedule.changed").first?["data"]?["providers"]?.arrayValue)
        var roles: [String: [String]] = [:]
        for p in providers { roles[p["id"]?.stringValue ?? ""] = p["roles"]?.arrayValue?.compactMap(\.stringValue) }
        #expect(roles[a.office.providerID(surgeon)] == ["oral_surgeon"])
        #expect(roles[a.office.providerID(a.provider)] == ["dentist"])
        #expect(roles[a.office.providerID(hygienist)] == ["hygienist"])
        await f.close()
    }
}
