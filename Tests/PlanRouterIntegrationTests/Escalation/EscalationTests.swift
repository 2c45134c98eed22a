import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Escalation ladders on a clock the test moves: a crown case (restorative ladder:
/// nudge at +24 h, nudge at +48 h, coordinator task at +72 h) accepted Tuesday
/// 2026-12-01 09:29 in New York.
@Suite struct EscalationTests {
    static let accepted = RFC3339.parse("2026-12-01T14:29:00Z")!

    /// Classifier, offer, lifecycle, timers and relay on one manual clock.
    struct Cluster {
        let h: PipelineHarness
        let clock = ManualClock(EscalationTests.accepted.addingTimeInterval(60))
        var runs: [Running] = []
        var timers: EscalationWorker!

        init(_ h: PipelineHarness) throws {
            self.h = h
            let c = try h.classifier(clock: clock)
            let o = try h.offer(clock: clock)
            let l = try h.lifecycle(clock: clock)
            let r = try h.relay()
            timers = h.timers(clock: clock)
            let t = timers!
            runs = [
                Running { try await c.run() }, Running { try await o.run() }, Running { try await l.run() }, Running { try await t.run() },
                Running { try await r.run() },
            ]
        }

        func stop() async { for r in runs { await r.stop() } }
    }

    func offeredCrown(_ h: PipelineHarness, plan: String = "crown") async throws -> Cluster {
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: plan, codes: [("D2740", 135_000)])])
        let cluster = try Cluster(h)
        try await eventually("offered") { try await h.count("SELECT count(*) FROM plans WHERE status = 'offered'") == 1 }
        return cluster
    }

    func count(_ h: PipelineHarness, _ sql: String) async throws -> Int { try await h.count(sql) }

    func snapshot(_ h: PipelineHarness) async throws -> [Int] {
        [
            try await h.count("SELECT count(*) FROM offers"), try await h.count("SELECT count(*) FROM coordinator_tasks"),
            try await h.count("SELECT count(*) FROM outbox"), try await h.count("SELECT count(*) FROM plan_events"),
        ]
    }

    @Test func noResponseGetsTwoNudgesThenACoordinatorTaskWithFullContext() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'pending'") == 3)

        c.clock.set(Self.accepted.addingTimeInterval(24 * 3600 + 60))  // Wed 09:30 local: not quiet
        try await eventually("first nudge") { try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") == 1 }
        // The openings still held are offered again, with a fresh link — but not Tuesday's same-day
        // opening nor Wednesday's 08:00, which started before this 09:30 nudge: they are released, not
        // re-offered (issue 12).
        #expect(try await count(h, "SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 1)
        #expect(try await count(h, "SELECT count(*) FROM reservations WHERE kind = 'hold' AND release_reason = 'too_late'") == 2)

        // Holds expire (48 h window): the second nudge holds fresh openings.
        c.clock.set(Self.accepted.addingTimeInterval(48 * 3600 + 120))
        try await eventually("second nudge") { try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") == 2 }
        #expect(try await count(h, "SELECT count(*) FROM plan_events WHERE kind = 'nudged'") == 2)

        c.clock.set(Self.accepted.addingTimeInterval(72 * 3600 + 180))
        try await eventually("task") { try await h.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'escalation'") == 1 }
        #expect(try await count(h, "SELECT count(*) FROM plans WHERE status = 'escalated'") == 1)
        try await eventually("all published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        await c.stop()

        let tasks = try await h.consumeAll(topic: h.topics[.coordinatorTasks], expected: 1)
        let task = try EventValidator.shared.decode(tasks[0].value)
        // The published task is a CoordinatorTask, written exactly as its encoder writes it.
        let typed = try task.decode(CoordinatorTask.self)
        #expect(typed.kind == .escalation && task.id == "task-\(typed.taskID)" && task.subject == "crown")
        #expect(typed.data.serialized() == task.data.serialized())
        #expect(typed.createdAt == Self.accepted.addingTimeInterval(72 * 3600 + 180))
        let ctx = task.data["context"]!
        #expect(task.data["owner_id"] == "location:loc-12")
        #expect(task.data["reason"]?.stringValue?.hasPrefix("no booking 72 h after acceptance; 2 nudge(s) sent") == true)
        #expect(ctx["tier"] == "restorative")
        #expect(ctx["value_cents"] == 135_000)
        #expect(ctx["offers"]?.arrayValue?.count == 3)
        #expect(ctx["procedures"]?.arrayValue?.first?["code"] == "D2740")
        #expect(ctx["deposit"]?["status"] == "not_requested")  // deposits are requested at booking (docs/payments.md)
        #expect(ctx["sms_consent"] == true)
        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 3)
        #expect(
            try messages.map { try EventValidator.shared.decode($0.value).data["kind"]!.stringValue! }.sorted() == [
                "nudge", "nudge", "offer",
            ])
        await h.close()
    }

    @Test func aNudgeDueAtNightWaitsForTheMorning() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        // Wed 2026-12-02 22:00 local (03:00 UTC Thursday): quiet hours 20:00-08:00.
        c.clock.set(RFC3339.parse("2026-12-03T03:00:00Z")!)
        try await eventually("postponed") {
            try await h.count("SELECT count(*) FROM timers WHERE step = 1 AND status = 'pending' AND due_at = '2026-12-03T13:00:00Z'") == 1
        }
        #expect(try await count(h, "SELECT count(*) FROM offers WHERE kind = 'nudge'") == 0)
        c.clock.set(RFC3339.parse("2026-12-03T13:00:05Z")!)  // 08:00:05 local
        try await eventually("sent in the morning") { try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") >= 1 }
        await c.stop()
        await h.close()
    }

    @Test func aBookingInThePMSEndsTheLadderAtOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        try await h.publish(events: [TestEvents.appointment(id: "appt-9", plan: nil)], topic: h.topics[.appointmentChanged])
        try await eventually("booked") { try await h.count("SELECT count(*) FROM plans WHERE status = 'booked'") == 1 }
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        #expect(try await count(h, "SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        #expect(try await count(h, "SELECT count(*) FROM plan_events WHERE kind = 'booked' AND detail->>'via' = 'pms'") == 1)
        c.clock.set(Self.accepted.addingTimeInterval(100 * 3600))
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await count(h, "SELECT count(*) FROM offers WHERE kind = 'nudge'") == 0)
        #expect(try await count(h, "SELECT count(*) FROM coordinator_tasks") == 0)

        // Cancelled later in the PMS: the case goes back to a coordinator.
        try await h.publish(
            events: [TestEvents.appointment(id: "appt-9", plan: nil, status: "cancelled", changedAt: "2026-12-01T18:00:00Z")],
            topic: h.topics[.appointmentChanged])
        try await eventually("re-opened") { try await h.count("SELECT count(*) FROM plans WHERE status = 'escalated'") == 1 }
        #expect(try await count(h, "SELECT count(*) FROM coordinator_tasks WHERE kind = 'escalation' AND urgent") == 1)
        try await eventually("task published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        await c.stop()

        // The task for the coordinator: typed, with the context members in the order they have always had.
        let tasks = try await h.consumeAll(topic: h.topics[.coordinatorTasks], expected: 1)
        let event = try EventValidator.shared.decode(tasks[0].value, expecting: [.coordinatorTasks])
        let task = try event.decode(CoordinatorTask.self)
        let id = try await h.count("SELECT id FROM coordinator_tasks")
        let reason = "the booked appointment was cancelled in the PMS"
        let expected = CoordinatorTask(
            taskID: String(id), organizationID: "org-1", locationID: "loc-12", planID: "crown", ownerID: "location:loc-12",
            kind: .escalation,
            urgent: true, reason: reason, createdAt: c.clock.now(),
            context: ["plan_id": "crown", "appointment_id": "appt-9", "why": .string(reason)])
        #expect(task == expected)
        #expect(event.data.serialized() == expected.data.serialized())
        #expect(event.id == "task-\(id)" && event.source == "planrouter/escalation" && event.subject == "crown")
        await h.close()
    }

    @Test func aDeclineClosesTheCase() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        try await h.publish(events: [TestEvents.planChanged(plan: "crown", change: "declined")], topic: h.topics[.planChanged])
        try await eventually("declined") { try await h.count("SELECT count(*) FROM plans WHERE status = 'declined'") == 1 }
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        #expect(try await count(h, "SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        await c.stop()
        await h.close()
    }

    @Test func aModifiedPlanIsReclassifiedAndReofferedFromScratch() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        let firstHolds = try await h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active")
        #expect(firstHolds == 3)
        var change = TestEvents.planChanged(plan: "crown", change: "modified", changedAt: "2026-12-01T15:00:00Z").objectValue!
        var d = change["data"]!.objectValue!
        d["procedures"] = [.object(["code": "D6010", "description": "implant", "fee_cents": 240_000])]
        change["data"] = .object(d)
        try await h.publish(events: [.object(change)], topic: h.topics[.planChanged])
        try await eventually("re-offered as surgical") {
            try await h.count(
                "SELECT count(*) FROM offers o JOIN classifications c USING (plan_id) WHERE c.tier = 'surgical' AND o.plan_accepted_at = '2026-12-01T15:00:00Z'"
            ) == 1
        }
        // The earlier holds were released and the earlier ladder cancelled; the new one runs.
        #expect(
            try await count(h, "SELECT count(*) FROM reservations WHERE kind = 'hold' AND NOT active AND release_reason = 'plan_changed'")
                == 3)
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'cancelled'") == 3)
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'pending'") == 3)
        #expect(try await count(h, "SELECT count(*) FROM plan_events WHERE kind = 'modified'") == 1)
        #expect(try await count(h, "SELECT count(*) FROM plans WHERE patient->>'first_name' = 'Maria' AND status = 'offered'") == 1)
        // The stored patient carried over whole (typed and written back).
        #expect(
            try await count(
                h,
                """
                SELECT count(*) FROM plans WHERE patient = '{"id": "pat-1", "first_name": "Maria", "phone": "+15555550123",
                    "preferred_channel": "sms", "sms_consent": true}'::jsonb
                """) == 1)
        await c.stop()
        await h.close()
    }

    @Test func aDeclineThatArrivesBeforeItsPlanIsKeptAndApplied() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.planChanged(plan: "early", change: "declined")], topic: h.topics[.planChanged])
        let cluster = try Cluster(h)
        try await eventually("kept") { try await h.count("SELECT count(*) FROM pending_lifecycle_events") == 1 }
        try await h.publish(events: [TestEvents.acceptedWith(plan: "early", codes: [("D2740", 135_000)])])
        try await eventually("declined once the plan exists") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'early' AND status = 'declined'") == 1
        }
        #expect(try await count(h, "SELECT count(*) FROM pending_lifecycle_events") == 0)
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        await cluster.stop()
        await h.close()
    }

    /// A worker dies holding leases: after the lease another worker fires the timers,
    /// and the dead worker's late completion changes nothing.
    @Test func aCrashedWorkersLeasedTimersAreTakenOverWithoutDuplicates() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let c = try await offeredCrown(h)
        await c.stop()
        let clock = ManualClock(Self.accepted.addingTimeInterval(72 * 3600 + 60))  // every step due
        let dead = h.timers(clock: clock, lease: .seconds(30), worker: "dead")
        let claimed = try await h.pool.withConnection {
            try await TimersRepository.claim(limit: 100, lease: .seconds(30), worker: "dead", now: clock.now(), on: $0)
        }
        #expect(claimed.count == 3)
        // Within the lease nobody else takes them.
        let rescuer = h.timers(clock: clock, worker: "rescuer")
        #expect(try await rescuer.fireOnce() == 0)
        clock.advance(by: 31)
        #expect(try await rescuer.fireOnce() == 3)
        #expect(try await count(h, "SELECT count(*) FROM timers WHERE status = 'done' AND leased_by = 'rescuer'") == 3)
        // Overdue together, the two nudges of one case collapse into one message before the task.
        #expect(try await count(h, "SELECT count(*) FROM plan_events WHERE kind IN ('nudged', 'nudge_without_openings')") == 1)
        #expect(try await count(h, "SELECT count(*) FROM coordinator_tasks") == 1)
        let before = try await snapshot(h)
        // The dead worker comes back and fires what it had claimed: nothing is applied twice.
        try await dead.fire(claimed, now: clock.now())
        #expect(try await snapshot(h) == before)
        await h.close()
    }
}
