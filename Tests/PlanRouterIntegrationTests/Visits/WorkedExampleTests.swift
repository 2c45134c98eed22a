import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// The playbook's worked example, end to end on the real broker and PostgreSQL: a single-tooth
/// implant (surgical placement D6010 with the surgeon the PMS names, plus the future crown D6065),
/// accepted in the chair Tuesday 2026-12-01 09:29 in New York by a patient who left and consents to
/// texts. Visit 1 (the surgery) is routed at once; the crown is routed 12 weeks after the surgery is
/// completed, as a case of its own with a dentist.
@Suite struct WorkedExampleTests {
    static let accepted = RFC3339.parse("2026-12-01T14:29:00Z")!
    static let surgeon = "prov-surgeon"

    /// Classifier, offer, lifecycle, timers and relay on one manual clock.
    struct Cluster {
        let clock = ManualClock(WorkedExampleTests.accepted.addingTimeInterval(60))
        var runs: [Running] = []

        init(_ h: PipelineHarness) throws {
            let c = try h.classifier(clock: clock)
            let o = try h.offer(clock: clock)
            let l = try h.lifecycle(clock: clock)
            let r = try h.relay()
            let t = h.timers(clock: clock)
            runs = [
                Running { try await c.run() }, Running { try await o.run() }, Running { try await l.run() }, Running { try await t.run() },
                Running { try await r.run() },
            ]
        }

        func stop() async { for r in runs { await r.stop() } }
    }

    static func schedule(changedAt: String) -> JSONValue {
        TestEvents.schedule(
            from: "2026-12-01", to: "2027-04-30", providers: [("prov-3", "dentist", ["op-1"]), (surgeon, "oral_surgeon", ["op-2"])],
            changedAt: changedAt)
    }

    /// The acceptance: the PMS names the surgeon's role on the placement; the crown has no role of its own.
    static func acceptance() -> JSONValue {
        var e = TestEvents.acceptedWith(plan: "implant", codes: [], acceptedAt: "2026-12-01T14:29:00Z").objectValue!
        var d = e["data"]!.objectValue!
        d["procedures"] = [
            .object([
                "code": "D6010", "description": "Surgical placement of implant body: endosteal implant", "tooth": "30",
                "fee_cents": 240_000, "provider_role": "oral_surgeon",
            ]),
            .object(["code": "D6065", "description": "Implant supported porcelain/ceramic crown", "tooth": "30", "fee_cents": 180_000]),
        ]
        d["total_fee_cents"] = 420_000
        d["patient_portion_cents"] = 310_000
        e["data"] = .object(d)
        return .object(e)
    }

    /// An appointment of the plan in the PMS (which knows only its own plan, `implant`).
    static func appointment(_ id: String, status: String, start: Date, changedAt: Date, provider: String, codes: [String]) -> JSONValue {
        var e = TestEvents.appointment(
            id: id, plan: "implant", status: status, start: RFC3339.format(start), changedAt: RFC3339.format(changedAt)
        ).objectValue!
        var d = e["data"]!.objectValue!
        d["provider_id"] = .string(provider)
        d["procedure_codes"] = .array(codes.map { .string($0) })
        d["length_minutes"] = 120
        e["data"] = .object(d)
        return .object(e)
    }

    func text(_ h: PipelineHarness, _ sql: String) async throws -> String {
        try await h.pool.withConnection { try await $0.query(sql)[0].decode(0, as: String.self) }
    }

    func date(_ h: PipelineHarness, _ sql: String) async throws -> Date {
        try await h.pool.withConnection { try await $0.query(sql)[0].decode(0, as: Date.self) }
    }

    @Test func theImplantIsRoutedWithTheSurgeonNowAndItsCrownTwelveWeeksAfterTheSurgery() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [Self.schedule(changedAt: "2026-11-30T12:00:00Z")])
        try await h.publish(events: [Self.acceptance()])
        let cluster = try Cluster(h)
        let clock = cluster.clock
        try await eventually("offered") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'offered'") == 1
        }

        // Classified: surgical, visit 1 only (120 minutes, not 150), the surgeon's role, $500 deposit.
        #expect(
            try await text(h, "SELECT string_agg(code, ',' ORDER BY line) FROM plan_procedures WHERE plan_id = 'implant'") == "D6010,D6065")
        #expect(
            try await text(
                h,
                "SELECT concat_ws('|', tier, path, chair_minutes, deposit_cents, provider_role, value_cents) FROM classifications WHERE plan_id = 'implant'"
            ) == "surgical|self_book|120|50000|oral_surgeon|420000")
        #expect(
            try await h.count("SELECT count(*) FROM classifications WHERE 'visit 1 of 2 now: D6010 (implant placement)' = ANY(reasons)")
                == 1)

        // Three openings of 120 minutes, each with the surgeon (never the treating dentist prov-3).
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND kind = 'hold' AND active AND provider_id = 'prov-surgeon'
                  AND upper(during) - lower(during) = interval '120 minutes'
                """) == 3)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND provider_id <> 'prov-surgeon'") == 0)

        // The text: the three openings, the $500 deposit line and a self-booking link.
        try await eventually("offer published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL") == 1
        }
        let offer = try EventValidator.shared.decode((try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1))[0].value)
        #expect(offer.data["kind"] == "offer" && offer.data["channel"] == "sms")
        #expect(offer.data["openings"]?.arrayValue?.count == 3)
        #expect(offer.data["openings"]?.arrayValue?.allSatisfy { $0["provider_id"] == "prov-surgeon" } == true)
        let body = offer.data["body"]?.stringValue ?? ""
        #expect(body.contains("A $500.00 deposit secures your visit."))
        let times = offer.data["openings"]?.arrayValue?.compactMap { $0["local_time"]?.stringValue } ?? []
        #expect(times.count == 3 && times.allSatisfy { body.contains($0) })
        let link = try #require(offer.data["link"]?.stringValue)
        #expect(link.hasPrefix("https://book.example.com/") && body.contains(link))

        // The ladder: nudges inside a 72-hour window, the coordinator task at +72 h (day three).
        let ladder = try await h.pool.withConnection {
            try await $0.query("SELECT due_at FROM timers WHERE plan_id = 'implant' AND kind = 'ladder' ORDER BY step").map {
                try $0.decode(0, as: Date.self).timeIntervalSince(Self.accepted) / 3600
            }
        }
        #expect(ladder == [12, 36, 72])

        // No booking: a nudge on Wednesday and Thursday morning, the task on Friday (day three).
        clock.set(RFC3339.parse("2026-12-02T13:00:05Z")!)
        try await eventually("first nudge") { try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") == 1 }
        clock.set(RFC3339.parse("2026-12-03T13:00:05Z")!)
        try await eventually("second nudge") { try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") == 2 }
        let dayThree = Self.accepted.addingTimeInterval(72 * 3600 + 180)
        clock.set(dayThree)
        try await eventually("task") { try await h.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'escalation'") == 1 }
        try await eventually("task published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks' AND published_at IS NOT NULL") == 1
        }
        let task = try EventValidator.shared.decode((try await h.consumeAll(topic: h.topics[.coordinatorTasks], expected: 1))[0].value)
        let typed = try task.decode(CoordinatorTask.self)
        #expect(typed.kind == .escalation && typed.planID == "implant" && typed.createdAt == dayThree)
        #expect(task.data["reason"]?.stringValue?.hasPrefix("no booking 72 h after acceptance; 2 nudge(s) sent") == true)
        let ctx = try #require(task.data["context"])
        #expect(ctx["plan_id"] == "implant" && ctx["tier"] == "surgical" && ctx["value_cents"] == 420_000 && ctx["chair_minutes"] == 120)
        #expect(ctx["procedures"]?.arrayValue?.compactMap { $0["code"]?.stringValue } == ["D6010", "D6065"])
        #expect(ctx["deposit"]?["cents"] == 50_000)
        // The offered times and messages: the offer and both nudges, each with its openings and channel.
        let offers = ctx["offers"]?.arrayValue ?? []
        #expect(offers.compactMap { $0["kind"]?.stringValue } == ["initial", "nudge", "nudge"])
        #expect(offers.allSatisfy { $0["channel"] == "sms" && ($0["openings"]?.arrayValue?.count ?? 0) > 0 })

        // Called by the coordinator, the patient books from the latest text's link: the deposit request follows (deposit_to_confirm).
        let nudge = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 3)
            .map { try EventValidator.shared.decode($0.value) }.filter { $0.data["kind"] == "nudge" }.max { $0.time < $1.time }
        let path = String(try #require(nudge?.data["link"]?.stringValue).dropFirst("https://book.example.com".count))
        let (hold, surgeryStart) = try await h.pool.withConnection {
            let r = try await $0.query(
                "SELECT id, lower(during) FROM reservations WHERE plan_id = 'implant' AND kind = 'hold' AND active ORDER BY lower(during) DESC LIMIT 1"
            )[0]
            return (try r.decode(0, as: Int64.self), try r.decode(1, as: Date.self))
        }
        let service = BookingService(
            pool: h.pool, clock: clock,
            configuration: BookingConfiguration(bookingKey: BookingToken.key(fromSecret: PipelineHarness.bookingSecret)), logger: testLogger
        )
        try await Application(router: BookingRouter.make(service)).test(.router) { client in
            let booked = try await client.postJSON(path, .object(["reservation_id": .int(hold)]))
            #expect(booked.status == .ok)
        }
        try await eventually("deposit request published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'payments.deposit-requests' AND published_at IS NOT NULL") == 1
        }
        let request = try EventValidator.shared.decode((try await h.consumeAll(topic: h.topics[.depositRequests], expected: 1))[0].value)
        #expect(request.data["plan_id"] == "implant" && request.data["amount_cents"] == 50_000 && request.data["tier"] == "surgical")

        // The PMS books the surgery, then completes it.
        try await h.publish(
            events: [
                Self.appointment(
                    "appt-surgery", status: "scheduled", start: surgeryStart, changedAt: dayThree.addingTimeInterval(600),
                    provider: Self.surgeon,
                    codes: ["D6010"])
            ], topic: h.topics[.appointmentChanged])
        try await eventually("booked") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'booked'") == 1
        }
        #expect(try await h.count("SELECT count(*) FROM plan_visits WHERE status = 'waiting' AND visit_number = 2") == 1)
        clock.set(surgeryStart.addingTimeInterval(3 * 3600))
        try await h.publish(
            events: [
                Self.appointment(
                    "appt-surgery", status: "completed", start: surgeryStart, changedAt: surgeryStart.addingTimeInterval(2 * 3600),
                    provider: Self.surgeon, codes: ["D6010"])
            ], topic: h.topics[.appointmentChanged])
        try await eventually("crown scheduled") { try await h.count("SELECT count(*) FROM plan_visits WHERE status = 'scheduled'") == 1 }
        // The PMS reports the completion again (a re-poll, another event id): the crown is not scheduled twice.
        let unmatched = "SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind = 'pms_appointment_unmatched'"
        let seen = try await h.count(unmatched)
        try await h.publish(
            events: [
                Self.appointment(
                    "appt-surgery", status: "completed", start: surgeryStart, changedAt: surgeryStart.addingTimeInterval(2 * 3600 + 60),
                    provider: Self.surgeon, codes: ["D6010"])
            ], topic: h.topics[.appointmentChanged])
        try await eventually("second completion applied") { try await h.count(unmatched) == seen + 1 }
        #expect(try await h.count("SELECT count(*) FROM timers WHERE kind = 'visit_due'") == 1)
        let due = surgeryStart.addingTimeInterval(84 * 86_400)
        #expect(try await date(h, "SELECT due_at FROM plan_visits WHERE visit_number = 2") == due)
        #expect(try await date(h, "SELECT due_at FROM timers WHERE kind = 'visit_due' AND status = 'pending' AND step = 2") == due)

        // Twelve weeks later (the calendar re-published meanwhile, as a connector does), the crown is routed.
        clock.set(due.addingTimeInterval(-3600))
        try await h.publishSchedule(events: [Self.schedule(changedAt: RFC3339.format(due.addingTimeInterval(-7200)))], now: clock.now())
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant/visit-2'") == 0)  // not before it is due
        let routedAt = due.addingTimeInterval(60)
        clock.set(routedAt)
        try await eventually("crown offered") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant/visit-2' AND status = 'offered'") == 1
        }
        #expect(
            try await text(
                h,
                "SELECT concat_ws('|', tier, chair_minutes, deposit_cents, provider_role, value_cents) FROM classifications WHERE plan_id = 'implant/visit-2'"
            ) == "restorative|60|0|dentist|180000")
        #expect(try await text(h, "SELECT string_agg(code, ',') FROM plan_procedures WHERE plan_id = 'implant/visit-2'") == "D6065")
        // Its openings are with the treating dentist, none earlier than 12 weeks after the surgery.
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM reservations WHERE plan_id = 'implant/visit-2' AND kind = 'hold' AND active AND provider_id = 'prov-3'
                  AND upper(during) - lower(during) = interval '60 minutes'
                """) == 3)
        #expect(try await date(h, "SELECT min(lower(during)) FROM reservations WHERE plan_id = 'implant/visit-2'") >= due)
        // Its own ladder (restorative) from its routing, and the acceptance PlanRouter published for it.
        let crownLadder = try await h.pool.withConnection {
            try await $0.query("SELECT due_at FROM timers WHERE plan_id = 'implant/visit-2' AND kind = 'ladder' ORDER BY step").map {
                try $0.decode(0, as: Date.self).timeIntervalSince(routedAt) / 3600
            }
        }
        #expect(crownLadder == [24, 48, 72])
        let acceptances = try await h.consumeAll(topic: h.topics[.planAccepted], expected: 2).map {
            try EventValidator.shared.decode($0.value)
        }
        let followUp = try #require(acceptances.first { $0.source == FollowUpVisit.source })
        #expect(followUp.id == FollowUpVisit.eventID(organizationID: "org-1", parent: "implant", number: 2))
        #expect(followUp.data["visit"] == .object(["parent_plan_id": "implant", "number": 2, "of": 2, "kind": "staged"]))
        #expect(followUp.data["plan_id"] == "implant/visit-2" && followUp.data["total_fee_cents"] == 180_000)

        // Routed once: the visit is taken only while scheduled (a worker firing its timer late finds nothing).
        let again = try await h.pool.withTransaction { tx in
            try await VisitsRepository.takeDue([(PlanKey(organizationID: "org-1", planID: "implant"), 2)], now: clock.now(), on: tx)
        }
        #expect(again.isEmpty)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'plan.accepted'") == 1)

        // The PMS books the crown under its own plan id: the follow-up is booked; visit 1's history is untouched.
        let visitOneHistory = try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant'")
        let crownStart = try await date(h, "SELECT min(lower(during)) FROM reservations WHERE plan_id = 'implant/visit-2'")
        try await h.publish(
            events: [
                Self.appointment(
                    "appt-crown", status: "scheduled", start: crownStart, changedAt: routedAt.addingTimeInterval(600), provider: "prov-3",
                    codes: ["D6065"])
            ], topic: h.topics[.appointmentChanged])
        try await eventually("crown booked") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant/visit-2' AND status = 'booked'") == 1
        }
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'booked'") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant'") == visitOneHistory)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind = 'booked'") == 1)
        #expect(
            try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind IN ('visit_scheduled', 'visit_routed')")
                == 2)

        // Counted: one staged follow-up routed and re-booked.
        clock.set(routedAt.addingTimeInterval(3600))
        #expect(
            try await text(
                h,
                """
                SELECT concat_ws('|', routed_visits, staged_visits, recall_visits, booked_visits, rebooked_pct)
                FROM analytics_follow_up_rebooking(NULL, NULL, '\(RFC3339.format(clock.now()))'::timestamptz) WHERE level = 'all'
                """) == "1|1|0|1|100.00")
        // The same in `planrouter report`'s all-tiers row and the follow-up's tier row.
        let report = try await h.pool.withConnection {
            try await AnalyticsReport.load(on: $0, organization: "org-1", from: nil, to: nil, asOf: clock.now())
        }
        #expect(report.total.followUpsRouted == 1 && report.total.followUpsBooked == 1 && report.total.followUpRebookedPercent == 100)
        #expect(report.tiers.first { $0.tier == "restorative" }?.followUpsRouted == 1)
        #expect(report.table().split(separator: "\n").contains { $0.hasPrefix("all tiers") && $0.hasSuffix("100.00% (1/1)") })
        await cluster.stop()
        await h.close()
    }
}
