import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Offers on a fixed clock: Tuesday 2026-12-01 09:30 in New York (14:30 UTC).
@Suite struct OfferWorkerTests {
    static let now = RFC3339.parse("2026-12-01T14:30:00Z")!
    static let ny = TimeZone(identifier: "America/New_York")!

    func local(_ epochSeconds: Int64) -> String { RFC3339.format(Date(timeIntervalSince1970: Double(epochSeconds)), in: Self.ny) }

    /// Runs classifier, offer and relay until `done` holds.
    func run(
        _ h: PipelineHarness, until what: String, timeout: Duration = .seconds(40), _ done: () async throws -> Bool
    ) async throws {
        let clock = ManualClock(Self.now)
        let classifier = try h.classifier(clock: clock)
        let offer = try h.offer(clock: clock)
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() }]
        defer { Task { for r in runs { await r.stop() } } }
        try await eventually(what, timeout: timeout, done)
        for r in runs { await r.stop() }
    }

    func holds(_ h: PipelineHarness, plan: String) async throws -> [(provider: String, start: Int64, end: Int64)] {
        try await h.pool.withConnection { conn in
            try await conn.query(
                """
                SELECT provider_id, extract(epoch FROM lower(during))::int8, extract(epoch FROM upper(during))::int8
                FROM reservations WHERE plan_id = $1 AND kind = 'hold' AND active ORDER BY lower(during)
                """, plan
            ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int64.self), try $0.decode(2, as: Int64.self)) }
        }
    }

    @Test func selfBookCaseGetsHeldOpeningsOnThreeDaysAMessageADepositRequestAndALadder() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "implant", codes: [("D6010", 240_000), ("D6065", 180_000)])])
        try await run(h, until: "offer published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL") == 1
        }
        // Accepted Tue 09:30 New York: today's first opening at least `offer.same_day_lead` (2 h) away,
        // then one a day (spread over days); 120 chair minutes: visit 1 is the placement alone (the visit
        // rule's 120), the crown is a later visit.
        let held = try await holds(h, plan: "implant")
        #expect(held.map { local($0.start) } == ["2026-12-01T11:30:00-05:00", "2026-12-02T08:00:00-05:00", "2026-12-03T08:00:00-05:00"])
        #expect(held.allSatisfy { $0.end - $0.start == 120 * 60 && $0.provider == "prov-3" })
        #expect(try await h.count("SELECT count(*) FROM offers WHERE plan_id = 'implant' AND sla_met AND channel = 'sms'") == 1)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'offered'") == 1)
        #expect(try await h.count("SELECT count(*) FROM timers WHERE plan_id = 'implant' AND status = 'pending'") == 3)

        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1)
        let message = try EventValidator.shared.decode(messages[0].value, expecting: [.patientMessages])
        #expect(message.data["channel"] == "sms")
        #expect(message.data["body"]?.stringValue?.contains("Tue Dec 1, 11:30 AM") == true)
        #expect(message.data["body"]?.stringValue?.contains("$500.00 deposit") == true)
        let link = message.data["link"]!.stringValue!
        let token = try BookingToken.verify(
            String(link.split(separator: "/").last!), secret: BookingToken.key(fromSecret: PipelineHarness.bookingSecret),
            now: Int64(Self.now.timeIntervalSince1970))
        #expect(token.planID == "implant")
        // The deposit is requested when the patient books (docs/payments.md), not with the offer.
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'payments.deposit-requests'") == 0)
        await h.close()
    }

    @Test func aPMSAppointmentReleasesOnlyTheHoldItCollidesWith() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "implant", codes: [("D6010", 240_000), ("D6065", 180_000)])])
        try await run(h, until: "holds made") { try await holds(h, plan: "implant").count == 3 }
        // Wed 2026-12-02 09:00 New York, 90 minutes with prov-3 in op-1: inside Wednesday's hold (08:00–10:30).
        try await h.publish(
            events: [TestEvents.appointment(id: "appt-9", plan: nil, start: "2026-12-02T14:00:00Z")], topic: h.topics[.appointmentChanged])
        try await run(h, until: "colliding hold released") {
            try await h.count("SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND release_reason = 'taken_in_pms'") == 1
        }
        let left = try await holds(h, plan: "implant")
        #expect(left.map { local($0.start) } == ["2026-12-01T11:30:00-05:00", "2026-12-03T08:00:00-05:00"])
        await h.close()
    }

    @Test func sameVisitOffersTodaysOpeningsToTheFrontDesk() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "crown", codes: [("D2740", 135_000)], inOffice: true)])
        try await run(h, until: "task published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks' AND published_at IS NOT NULL") == 1
        }
        // 09:30 + 15 min buffer = 09:45, aligned to the 10-minute grid: 09:50; 90 minutes each, back to back today.
        let held = try await holds(h, plan: "crown")
        #expect(held.map { local($0.start) } == ["2026-12-01T09:50:00-05:00", "2026-12-01T11:20:00-05:00", "2026-12-01T12:50:00-05:00"])
        let tasks = try await h.consumeAll(topic: h.topics[.coordinatorTasks], expected: 1)
        let task = try EventValidator.shared.decode(tasks[0].value)
        #expect(task.data["kind"] == "same_visit")
        #expect(task.data["urgent"] == true)
        #expect(task.data["owner_id"] == "location:loc-12")
        await h.close()
    }

    @Test func callbackAndNoAvailabilityBecomeCoordinatorTasksAtOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [
            TestEvents.acceptedWith(plan: "call-me", codes: [("D2740", 135_000)], channel: "phone", coordinator: "tc-anna"),
            TestEvents.acceptedWith(plan: "nowhere", location: "loc-without-schedule", codes: [("D2740", 135_000)]),
        ])
        try await run(h, until: "two tasks") { try await h.count("SELECT count(*) FROM coordinator_tasks") == 2 }
        #expect(
            try await h.count(
                "SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'call-me' AND kind = 'callback' AND owner_id = 'tc-anna'") == 1)
        #expect(
            try await h.count("SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'nowhere' AND kind = 'no_availability' AND urgent")
                == 1)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE status = 'escalated'") == 2)
        #expect(try await h.count("SELECT count(*) FROM reservations") == 0)
        await h.close()
    }

    /// Calendars missing from the cache load `CalendarStore.loadSlice` locations per round of
    /// queries: a batch over more locations than two slices still offers every case at its own location.
    @Test func aBatchOverMoreLocationsThanOneLoadSliceOffersEveryCaseAtItsLocation() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let locations = (0..<(2 * CalendarStore.loadSlice + 20)).map { "loc-\($0)" }
        try await h.publish(
            events: locations.map { TestEvents.schedule(location: $0, providers: [("prov-\($0)", "dentist", ["op-\($0)"])]) },
            topic: h.topics[.scheduleChanged])
        try await h.publish(
            events: locations.map { TestEvents.acceptedWith(plan: "plan-\($0)", location: $0, codes: [("D2740", 135_000)]) })
        // 120 cold calendars in a debug build: ~40 s on a loaded CI machine, which the default
        // bound missed once (a liveness bound, not a measurement).
        try await run(h, until: "every case offered", timeout: .seconds(180)) {
            try await h.count("SELECT count(*) FROM offers") == locations.count
        }
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM (
                  SELECT r.plan_id FROM reservations r JOIN plans p USING (organization_id, plan_id)
                  WHERE r.kind = 'hold' AND r.active AND r.location_id = p.location_id
                    AND r.provider_id = 'prov-' || p.location_id
                  GROUP BY r.plan_id HAVING count(*) = 3) x
                """) == locations.count)
        await h.close()
    }

    /// Many offer workers (each with its own calendar cache, as separate processes would have)
    /// compete for one provider's openings at the same moment: the exclusion constraint lets
    /// exactly one hold win each slot, and the losers are given the next openings.
    @Test func concurrentOffersNeverDoubleBookAndLosersGetTheNextOpenings() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publish(events: [TestEvents.schedule(providers: [("prov-3", "dentist", ["op-1"])])], topic: h.topics[.scheduleChanged])
        let plans = (0..<6).map { "p\($0)" }
        try await h.publish(events: plans.map { TestEvents.acceptedWith(plan: $0, codes: [("D2740", 135_000)]) })
        // Classify (and mirror the schedule) first; take the plan.classified events from the outbox.
        let clock = ManualClock(Self.now)
        let classifier = try h.classifier(clock: clock)
        var run = Running { try await classifier.run() }
        try await eventually("classified") { try await h.count("SELECT count(*) FROM classifications") == 6 }
        await run.stop()
        let setup = try h.offer(group: "schedule-only", clock: clock)
        run = Running { try await setup.run() }
        try await eventually("schedule mirrored") { try await h.count("SELECT count(*) FROM schedule_blocks") > 0 }
        await run.stop()
        try await h.pool.withConnection {
            try await $0.simpleQuery("DELETE FROM reservations; DELETE FROM offers; UPDATE plans SET status = 'accepted'")
        }
        let payloads = try await h.pool.withConnection {
            try await $0.query("SELECT payload FROM outbox WHERE topic = 'plan.classified' ORDER BY id").map {
                try $0.decode(0, as: [UInt8].self)
            }
        }
        #expect(payloads.count == 6)
        let events = try payloads.enumerated().map { i, p in
            IncomingEvent(
                event: try EventValidator.shared.decode(p),
                message: KafkaMessage(topic: "plan.classified", partition: 0, offset: Int64(i), key: nil, value: p))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for e in events {
                let handler = OfferHandler(
                    consumerName: "offer",
                    settings: OfferSettings(bookingBaseURL: "https://b.example", bookingSecret: PipelineHarness.bookingSecret))
                group.addTask {
                    try await h.pool.withTransaction { tx in
                        var outbox = OutboxBatch()
                        _ = try await handler.apply([e], in: tx, outbox: &outbox, now: Self.now, logger: testLogger)
                        try await outbox.insert(on: tx, now: Self.now)
                    }
                }
            }
            try await group.waitForAll()
        }
        // No two active holds of the provider overlap, and every case got its three openings.
        #expect(
            try await h.count(
                "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id AND a.provider_id = b.provider_id AND a.during && b.during WHERE a.active AND b.active"
            ) == 0)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 18)
        for p in plans { #expect(try await holds(h, plan: p).count == 3) }
        #expect(try await h.count("SELECT count(*) FROM coordinator_tasks") == 0)
        await h.close()
    }
}
