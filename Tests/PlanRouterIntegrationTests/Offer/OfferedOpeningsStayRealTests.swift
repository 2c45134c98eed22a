import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// Issue 12: every opening offered is real. The classifier's and the offer worker's handlers
/// (and the planner's nudge) are applied straight in transactions on a fresh database, as the
/// consumer loop applies a batch; what is checked is what PostgreSQL and the outbox hold.
@Suite struct OfferedOpeningsStayRealTests {
    /// Tuesday 2026-12-01 09:30 in New York.
    static let now = RFC3339.parse("2026-12-01T14:30:00Z")!
    static let ny = TimeZone(identifier: "America/New_York")!
    static let implant: [(String, Int64)] = [("D6010", 240_000), ("D6065", 180_000)]

    func local(_ epochSeconds: Int64) -> String { RFC3339.format(Date(timeIntervalSince1970: Double(epochSeconds)), in: Self.ny) }

    final class Desk: Sendable {
        let pool: PostgresPool
        let classifier = ClassifierHandler(consumerName: "classifier")
        let offer: OfferHandler

        init(staleAfter: Duration = .seconds(24 * 3600), calendarCacheBytes: Int? = nil) async throws {
            pool = PostgresPool(conninfo: try await MigratedDatabase.fresh(prefix: "real"), size: 2, logger: testLogger)
            var settings = OfferSettings(bookingBaseURL: "https://book.example.com", bookingSecret: PipelineHarness.bookingSecret)
            settings.calendarStaleAfter = staleAfter
            if let calendarCacheBytes { settings.calendarCacheBytes = calendarCacheBytes }
            offer = OfferHandler(consumerName: "offer", settings: settings)
        }

        /// Applies events to a handler at `now` in one transaction, outbox included.
        @discardableResult
        func apply(_ handler: some EventHandler, _ events: [JSONValue], now: Date) async throws -> [DeadLetter] {
            let incoming = try events.enumerated().map { i, v in
                IncomingEvent(
                    event: try EventValidator.shared.decode(v),
                    message: KafkaMessage(topic: "test", partition: 0, offset: Int64(i), key: nil, value: v.serializedBytes()))
            }
            return try await pool.withTransaction { tx in
                var outbox = OutboxBatch()
                let letters = try await handler.apply(incoming, in: tx, outbox: &outbox, now: now, logger: testLogger)
                try await outbox.insert(on: tx, now: now)
                return letters
            }
        }

        /// Classifies an acceptance and makes its first offer at `now`.
        func accept(_ event: JSONValue, now: Date) async throws {
            try await apply(classifier, [event], now: now)
            let classified = try await pool.withConnection { conn in
                try await conn.query(
                    "UPDATE outbox SET published_at = $1 WHERE topic = 'plan.classified' AND published_at IS NULL RETURNING payload", now
                ).map { try JSONParser.parse(String(decoding: try $0.decode(0, as: [UInt8].self), as: UTF8.self)) }
            }
            #expect(classified.count == 1)
            try await apply(offer, classified, now: now)
        }

        func nudge(_ plan: String, now: Date) async throws {
            try await pool.withTransaction { tx in
                var outbox = OutboxBatch()
                let key = PlanKey(organizationID: "org-1", planID: plan)
                try await offer.planner.nudge([key], in: tx, outbox: &outbox, now: now, logger: testLogger)
                try await outbox.insert(on: tx, now: now)
            }
        }

        func count(_ sql: String) async throws -> Int {
            try await pool.withConnection { try await $0.query(sql)[0].decode(0, as: Int.self) }
        }

        func holds(_ plan: String) async throws -> [Int64] {
            try await pool.withConnection { conn in
                try await conn.query(
                    """
                    SELECT extract(epoch FROM lower(during))::int8 FROM reservations
                    WHERE plan_id = $1 AND kind = 'hold' AND active ORDER BY lower(during)
                    """, plan
                ).map { try $0.decode(0, as: Int64.self) }
            }
        }

        /// The patient.messages events in the outbox, oldest first.
        func messages() async throws -> [CloudEvent] {
            try await pool.withConnection { conn in
                try await conn.query("SELECT payload FROM outbox WHERE topic = 'patient.messages' ORDER BY id").map {
                    try EventValidator.shared.decode(try $0.decode(0, as: [UInt8].self), expecting: [.patientMessages])
                }
            }
        }

        func close() async { await pool.close() }
    }

    /// A schedule.changed for New York dates `from`…`to` with the given blocks and blockouts (local "yyyy-MM-ddTHH:mm").
    static func schedule(from: String, to: String, blocks: [(String, String)], blockouts: [(String, String)] = []) -> JSONValue {
        func at(_ s: String) -> JSONValue {
            let f = DateFormatter()
            f.timeZone = ny
            f.dateFormat = "yyyy-MM-dd'T'HH:mm"
            return .string(RFC3339.format(f.date(from: s)!))
        }
        let data: JSONValue = .object([
            "organization_id": "org-1", "location_id": "loc-12", "changed_at": "2026-12-01T15:00:00Z", "time_zone": "America/New_York",
            "from": .string(from), "to": .string(to),
            "providers": [.object(["id": "prov-3", "roles": ["dentist"], "operatory_ids": ["op-1", "op-2"]])],
            "blocks": .array(blocks.map { .object(["provider_id": "prov-3", "start": at($0.0), "end": at($0.1)]) }),
            "blockouts": .array(blockouts.map { .object(["start": at($0.0), "end": at($0.1), "type": "do_not_schedule"]) }),
        ])
        return .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "opendental/loc-12", "type": "planrouter.schedule.changed.v1",
            "time": "2026-12-01T15:00:00Z", "data": data,
        ])
    }

    // MARK: 1. Past openings

    /// A nudge the morning after the offer: Tuesday's same-day 11:30 and Wednesday's 08:00 openings
    /// have started, so they are released rather than re-offered (and their holds are not extended);
    /// Thursday's is.
    @Test func aNudgeNeverReOffersAnOpeningThatHasStarted() async throws {
        let d = try await Desk()
        try await d.apply(d.offer, [TestEvents.schedule()], now: Self.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "implant", codes: Self.implant), now: Self.now)
        #expect(
            try await d.holds("implant").map(local) == [
                "2026-12-01T11:30:00-05:00", "2026-12-02T08:00:00-05:00", "2026-12-03T08:00:00-05:00",
            ])

        let wednesdayLate = RFC3339.parse("2026-12-02T13:10:00Z")!  // 08:10 New York
        try await d.nudge("implant", now: wednesdayLate)
        #expect(try await d.holds("implant").map(local) == ["2026-12-03T08:00:00-05:00"])
        #expect(try await d.count("SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND release_reason = 'too_late'") == 2)
        #expect(
            try await d.count(
                """
                SELECT count(*) FROM offers
                WHERE plan_id = 'implant' AND kind = 'nudge' AND jsonb_array_length(openings) = 1
                """) == 1)
        let nudge = try #require(try await d.messages().last)
        #expect(nudge.data["kind"] == "nudge")
        let times = nudge.data["openings"]?.arrayValue?.compactMap { $0["local_time"]?.stringValue } ?? []
        #expect(times == ["Thu Dec 3, 8:00 AM"])
        #expect(nudge.data["body"]?.stringValue?.contains("Wed Dec 2") == false)
        #expect(nudge.data["body"]?.stringValue?.contains("Tue Dec 1") == false)
        await d.close()
    }

    // MARK: 2. Schedule changes

    /// The PMS closes Wednesday and blocks Thursday morning: every hold the new calendar no longer
    /// allows is released (Tuesday's same-day hold is outside the change and stays) in the same transaction, and the case is re-offered
    /// fresh openings that fit, with a message that says the earlier time is gone.
    @Test func aScheduleChangeReleasesTheHoldsItInvalidatesAndReOffers() async throws {
        let d = try await Desk()
        try await d.apply(d.offer, [TestEvents.schedule()], now: Self.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "implant", codes: Self.implant), now: Self.now)
        #expect(try await d.holds("implant").count == 3)

        let change = Self.schedule(
            from: "2026-12-02", to: "2026-12-04",
            blocks: [("2026-12-03T08:00", "2026-12-03T17:00"), ("2026-12-04T11:00", "2026-12-04T17:00")],
            blockouts: [("2026-12-03T07:00", "2026-12-03T12:00")])
        try await d.apply(d.offer, [change], now: Self.now.addingTimeInterval(3600))

        #expect(
            try await d.count("SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND release_reason = 'schedule_changed'") == 2)
        let held = try await d.holds("implant").map(local)
        #expect(held.count == 3)
        #expect(held.allSatisfy { !$0.hasPrefix("2026-12-02") && !$0.hasPrefix("2026-12-03T08") && !$0.hasPrefix("2026-12-04T08") })
        // Nothing held lies outside the new hours or under the blockout.
        #expect(
            try await d.count(
                """
                SELECT count(*) FROM reservations h WHERE h.plan_id = 'implant' AND h.kind = 'hold' AND h.active
                  AND (NOT EXISTS (SELECT 1 FROM schedule_blocks b WHERE b.provider_id = h.provider_id AND b.during @> h.during)
                       OR EXISTS (SELECT 1 FROM blockouts bo WHERE bo.during && h.during))
                """) == 0)
        #expect(
            try await d.count(
                """
                SELECT count(*) FROM offers
                WHERE plan_id = 'implant' AND kind = 'reoffer' AND jsonb_array_length(openings) = 3
                """)
                == 1)
        #expect(try await d.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'offered'") == 1)
        #expect(try await d.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind = 'reoffered'") == 1)
        let message = try #require(try await d.messages().last)
        #expect(message.data["kind"] == "opening_withdrawn")
        #expect(message.data["body"]?.stringValue?.contains("no longer available") == true)
        #expect(message.data["link"]?.stringValue?.hasPrefix("https://book.example.com/book/") == true)
        #expect(message.data["openings"]?.arrayValue?.count == 3)
        await d.close()
    }

    /// The PMS closes the whole month: nothing fits, so the case goes to a coordinator at once
    /// (no message promising openings that do not exist).
    @Test func aScheduleChangeWithNothingLeftSendsTheCaseToACoordinator() async throws {
        let d = try await Desk()
        try await d.apply(d.offer, [TestEvents.schedule()], now: Self.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "implant", codes: Self.implant), now: Self.now)
        let messagesBefore = try await d.messages().count

        let closed = Self.schedule(from: "2026-12-01", to: "2026-12-31", blocks: [])
        try await d.apply(d.offer, [closed], now: Self.now.addingTimeInterval(3600))
        #expect(try await d.holds("implant").isEmpty)
        #expect(try await d.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'escalated'") == 1)
        #expect(
            try await d.count(
                """
                SELECT count(*) FROM coordinator_tasks
                WHERE plan_id = 'implant' AND kind = 'no_availability' AND urgent AND status = 'open'
                """)
                == 1)
        #expect(try await d.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
        #expect(try await d.messages().count == messagesBefore)
        await d.close()
    }

    /// The patient's own PMS appointment (the front desk booked them) releases the hold it
    /// collides with but is no reason to re-offer anything.
    @Test func thePatientsOwnPMSAppointmentIsNotAReasonToReOffer() async throws {
        let d = try await Desk()
        try await d.apply(d.offer, [TestEvents.schedule()], now: Self.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "implant", codes: Self.implant), now: Self.now)
        let own = TestEvents.appointment(id: "appt-own", plan: "implant", start: "2026-12-02T14:00:00Z")
        try await d.apply(d.offer, [own], now: Self.now.addingTimeInterval(600))
        #expect(try await d.count("SELECT count(*) FROM reservations WHERE plan_id = 'implant' AND release_reason = 'taken_in_pms'") == 1)
        #expect(try await d.count("SELECT count(*) FROM offers WHERE plan_id = 'implant' AND kind = 'reoffer'") == 0)
        #expect(try await d.messages().allSatisfy { $0.data["kind"] != "opening_withdrawn" })
        await d.close()
    }

    // MARK: 4. Stale calendars

    /// The schedule was last synced 26.5 h before the acceptance (window 24 h): no self-booking,
    /// a callback task "calendar stale", and the offer worker's /readyz and metrics show it. A
    /// fresh schedule.changed makes the location self-book again.
    @Test func aStaleCalendarSendsCasesToACoordinatorAndShowsInReadyzAndMetrics() async throws {
        let d = try await Desk()
        try await d.apply(d.offer, [TestEvents.schedule()], now: RFC3339.parse("2026-11-30T12:00:00Z")!)
        try await d.accept(TestEvents.acceptedWith(plan: "stale", codes: [("D2740", 135_000)]), now: Self.now)
        #expect(try await d.holds("stale").isEmpty)
        #expect(try await d.count("SELECT count(*) FROM plans WHERE plan_id = 'stale' AND status = 'escalated'") == 1)
        #expect(
            try await d.count(
                """
                SELECT count(*) FROM coordinator_tasks
                WHERE plan_id = 'stale' AND kind = 'callback' AND reason LIKE 'calendar stale:%'
                """) == 1)
        #expect(try await d.messages().isEmpty)

        let telemetry = WorkerTelemetry(worker: "offer")
        let clock = ManualClock(Self.now)
        let metrics = WorkerMetrics(
            telemetry: telemetry, probes: [.offers, .calendars(staleAfter: .seconds(24 * 3600))], pool: d.pool, clock: clock)
        try await Application(router: WorkerHTTPServer.router(metrics)).test(.router) { client in
            let metricsText = try await client.get("/metrics").text
            #expect(WorkerHTTPTests.sample(metricsText, "planrouter_locations_calendar_stale{worker=\"offer\"}") == 1)
            #expect(WorkerHTTPTests.sample(metricsText, "planrouter_calendars_query_up{worker=\"offer\"}") == 1)
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body).contains("calendar stale: 1 location(s)"))
            #expect(String(buffer: ready.body).contains("loc-12"))

            // The connector syncs again: self-booking resumes and the warning goes.
            try await d.apply(d.offer, [TestEvents.schedule(changedAt: "2026-12-01T14:00:00Z")], now: Self.now)
            try await d.accept(TestEvents.acceptedWith(plan: "fresh", codes: [("D2740", 135_000)]), now: Self.now)
            #expect(try await d.holds("fresh").count == 3)
            let after = try await client.get("/metrics").text
            #expect(WorkerHTTPTests.sample(after, "planrouter_locations_calendar_stale{worker=\"offer\"}") == 0)
            #expect(String(buffer: try await client.get("/readyz").body) == "ready\n")
        }
        await d.close()
    }

    // MARK: 5. The calendar cache

    /// The offer worker keeps a location's calendar, with its own holds in it, between batches,
    /// within its budget, and `/metrics` shows the cache: a second case at a location is no
    /// load; with room for one calendar, a case at another location evicts the first, and a case
    /// back at the first loads it again, holds included (nothing offered twice).
    @Test func theCalendarCacheKeepsCalendarsWithinItsBudgetAndShowsInMetrics() async throws {
        let schedules = [TestEvents.schedule(), TestEvents.schedule(location: "loc-13")]
        let crown: [(String, Int64)] = [("D2740", 135_000)]
        func metricsText(_ d: Desk) async -> String {
            let planner = d.offer.planner
            let metrics = WorkerMetrics(
                telemetry: WorkerTelemetry(worker: "offer"), probes: [.calendarCache { planner.calendarCacheUsage }], pool: d.pool,
                clock: ManualClock(Self.now))
            return await metrics.text()
        }

        let d = try await Desk()
        try await d.apply(d.offer, schedules, now: Self.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "first", codes: crown), now: Self.now)
        try await d.accept(TestEvents.acceptedWith(plan: "second", codes: crown), now: Self.now.addingTimeInterval(60))
        let usage = d.offer.planner.calendarCacheUsage
        #expect(usage.locations == 1 && usage.loads == 1 && usage.evictions == 0 && usage.budgetBytes == 8 << 20)
        #expect(usage.bytes > 0)
        #expect(Set(try await d.holds("first")).isDisjoint(with: try await d.holds("second")))
        let text = await metricsText(d)
        #expect(WorkerHTTPTests.sample(text, "planrouter_calendar_cache_locations{worker=\"offer\"}") == 1)
        #expect(WorkerHTTPTests.sample(text, "planrouter_calendar_cache_bytes{worker=\"offer\"}") == Double(usage.bytes))
        #expect(WorkerHTTPTests.sample(text, "planrouter_calendar_cache_budget_bytes{worker=\"offer\"}") == Double(8 << 20))
        #expect(WorkerHTTPTests.sample(text, "planrouter_calendar_loads_total{worker=\"offer\"}") == 1)
        #expect(WorkerHTTPTests.sample(text, "planrouter_calendar_cache_evictions_total{worker=\"offer\"}") == 0)
        await d.close()

        // Room for one such calendar, not two.
        let small = try await Desk(calendarCacheBytes: usage.bytes * 3 / 2)
        try await small.apply(small.offer, schedules, now: Self.now.addingTimeInterval(-1800))
        try await small.accept(TestEvents.acceptedWith(plan: "first", codes: crown), now: Self.now)
        try await small.accept(TestEvents.acceptedWith(plan: "elsewhere", location: "loc-13", codes: crown), now: Self.now)
        var u = small.offer.planner.calendarCacheUsage
        #expect(u.locations == 1 && u.loads == 2 && u.evictions == 1 && u.bytes <= u.budgetBytes)
        try await small.accept(TestEvents.acceptedWith(plan: "again", codes: crown), now: Self.now.addingTimeInterval(60))
        u = small.offer.planner.calendarCacheUsage
        #expect(u.locations == 1 && u.loads == 3 && u.evictions == 2)
        // Loaded again from PostgreSQL, loc-12's calendar has the first case's holds.
        #expect(try await small.holds("again").count == 3)
        #expect(Set(try await small.holds("first")).isDisjoint(with: try await small.holds("again")))
        #expect(WorkerHTTPTests.sample(await metricsText(small), "planrouter_calendar_cache_evictions_total{worker=\"offer\"}") == 2)
        await small.close()
    }
}
