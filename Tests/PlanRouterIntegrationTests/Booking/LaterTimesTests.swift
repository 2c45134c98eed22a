import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import Testing

@testable import PlanRouterWorkers

/// "None of these work: show me later times" on a real offer: the classifier and offer workers run
/// against the real broker and PostgreSQL, the page asks the offer planner for the next openings.
@Suite struct LaterTimesTests {
    static let now = RFC3339.parse("2026-12-01T14:30:00Z")!

    /// One accepted crown case offered by the real workers; the link's path and the booking router
    /// with later times wired to the offer planner, as `planrouter serve` does.
    struct Offered {
        let h: PipelineHarness
        let clock: ManualClock
        let path: String
        let service: BookingService

        init(scheduleTo: String = "2026-12-31", limit: Int = 2) async throws {
            let h = try await PipelineHarness(partitions: 1)
            let clock = ManualClock(LaterTimesTests.now)
            self.h = h
            self.clock = clock
            try await h.publishSchedule(events: [TestEvents.schedule(to: scheduleTo)])
            try await h.publish(events: [TestEvents.acceptedWith(plan: "crown", codes: [("D2740", 135_000)])])
            let classifier = try h.classifier(clock: clock)
            let offer = try h.offer(clock: clock)
            // The relay carries plan.classified from the classifier's outbox to the offer worker.
            let relay = try h.relay()
            let runs = [Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() }]
            try await eventually("offer recorded") { try await h.count("SELECT count(*) FROM offers") == 1 }
            for r in runs { await r.stop() }
            let offerID = try await h.pool.withConnection { try await $0.query("SELECT id FROM offers")[0].decode(0, as: Int64.self) }
            let token = BookingToken(
                offerID: offerID, organizationID: "org-1", planID: "crown",
                expiresAt: Int64(LaterTimesTests.now.timeIntervalSince1970) + 86_400)
            path = "/book/" + token.sign(secret: BookingToken.key(fromSecret: PipelineHarness.bookingSecret))
            var configuration = BookingConfiguration(bookingKey: BookingToken.key(fromSecret: PipelineHarness.bookingSecret))
            let planner = OfferPlanner(settings: h.offerSettings)
            configuration.laterOpenings = { key, after, tx, now in
                try await planner.holdLater(key, after: after, in: tx, now: now, logger: testLogger)
            }
            configuration.laterTimesLimit = limit
            service = BookingService(pool: h.pool, clock: clock, configuration: configuration, logger: testLogger)
        }

        func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
            let app = Application(router: BookingRouter.make(service))
            return try await app.test(.router) { client in try await body(client) }
        }

        func starts(_ page: TestResponse) -> [Date] {
            (page.json["openings"]?.arrayValue ?? []).compactMap { $0["start"]?.stringValue.flatMap(RFC3339.parse) }
        }
    }

    @Test func laterTimesHoldTheNextOpeningsReleaseTheEarlierOnesAndAreBounded() async throws {
        let o = try await Offered()
        try await o.test { client in
            let first = try await client.get(o.path, json: true)
            #expect(first.json["later_times_left"] == .bool(true))
            let html = try await client.get(o.path)
            #expect(html.text.contains("show me later times"))
            #expect(html.text.contains("name=\"round\" value=\"0\""))
            let firstStarts = o.starts(first)
            #expect(firstStarts.count == 3)

            let later = try await client.postJSON(o.path, .object(["none_work": "later", "round": 0]))
            #expect(later.status == .ok)
            #expect(later.json["status"] == "later_times")
            let laterStarts = o.starts(later)
            #expect(laterStarts.count == 3)
            // Every new time is after the latest one offered before, with the same provider (the only dentist).
            #expect(laterStarts.allSatisfy { $0 > firstStarts.max()! })
            #expect(later.json["openings"]?.arrayValue?.allSatisfy { $0["provider_id"] == "prov-3" } == true)

            // A double submit of the same page (round 0 again) changes nothing.
            let again = try await client.postForm(o.path, "none_work=later&round=0")
            #expect(again.status == .ok)
            #expect(again.text.contains("Here are later times"))
            #expect(o.starts(try await client.get(o.path, json: true)) == laterStarts)
            #expect(try await o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'later_times_offered'") == 1)

            // The patient never holds more than one offer's worth: the earlier holds are released.
            #expect(try await o.h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 3)
            #expect(try await o.h.count("SELECT count(*) FROM reservations WHERE release_reason = 'later_times'") == 3)

            // The second round is the last one (limit 2): then only the call-back is offered.
            let last = try await client.postJSON(o.path, .object(["none_work": "later", "round": 1]))
            #expect(o.starts(last).allSatisfy { $0 > laterStarts.max()! })
            #expect(last.json["later_times_left"] == .bool(false))
            let page = try await client.get(o.path)
            #expect(!page.text.contains("show me later times"))
            #expect(page.text.contains("please call me"))
            let beyond = try await client.postJSON(o.path, .object(["none_work": "later", "round": 2]))
            #expect(o.starts(beyond) == o.starts(last))
            #expect(try await o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'later_times_offered'") == 2)
            #expect(try await o.h.count("SELECT max(later_rounds) FROM offers") == 2)

            // A later time books like any other.
            let chosen = last.json["openings"]!.arrayValue![0]["reservation_id"]!
            let booked = try await client.postJSON(o.path, .object(["reservation_id": chosen]))
            #expect(booked.status == .ok)
        }
        #expect(try await o.h.count("SELECT count(*) FROM plans WHERE status = 'booked'") == 1)
        #expect(try await o.h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        await o.h.close()
    }

    /// The schedule ends with the offered days: nothing later, said plainly; the openings stay held.
    @Test func nothingLaterInTheHorizonSaysSoAndKeepsTheOpenings() async throws {
        let o = try await Offered(scheduleTo: "2026-12-03")
        try await o.test { client in
            let before = o.starts(try await client.get(o.path, json: true))
            #expect(!before.isEmpty)
            let none = try await client.postForm(o.path, "none_work=later&round=0")
            #expect(none.status == .ok)
            #expect(none.text.contains("There are no later openings"))
            #expect(!none.text.contains("show me later times"))
            #expect(none.text.contains("please call me"))
            #expect(o.starts(try await client.get(o.path, json: true)) == before)
        }
        #expect(try await o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'later_times_none'") == 1)
        #expect(try await o.h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 3)
        await o.h.close()
    }

    /// Forged, expired and other-organization links ask for nothing and get the one 404.
    @Test func laterTimesNeedAValidLinkOfTheCasesOrganization() async throws {
        let o = try await Offered()
        let offerID = try await o.h.pool.withConnection { try await $0.query("SELECT id FROM offers")[0].decode(0, as: Int64.self) }
        let key = BookingToken.key(fromSecret: PipelineHarness.bookingSecret)
        let exp = Int64(Self.now.timeIntervalSince1970)
        let expired = BookingToken(offerID: offerID, organizationID: "org-1", planID: "crown", expiresAt: exp - 1).sign(secret: key)
        let otherOrg = BookingToken(offerID: offerID, organizationID: "org-2", planID: "crown", expiresAt: exp + 3600).sign(secret: key)
        let forged = BookingToken(offerID: offerID, organizationID: "org-1", planID: "crown", expiresAt: exp + 3600)
            .sign(secret: BookingToken.key(fromSecret: "not-the-secret"))
        try await o.test { client in
            for t in [expired, otherOrg, forged] {
                let r = try await client.postJSON("/book/\(t)", .object(["none_work": "later", "round": 0]))
                #expect(r.status == .notFound)
            }
        }
        #expect(try await o.h.count("SELECT count(*) FROM plan_events WHERE kind LIKE 'later_times%'") == 0)
        #expect(try await o.h.count("SELECT max(later_rounds) FROM offers") == 0)
        await o.h.close()
    }
}
