import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import Testing

@testable import PlanRouterWorkers

/// End to end through the real broker and PostgreSQL: a plan is accepted, the offer
/// worker sends a link, the patient books from that link, the ladder stops and the
/// PMS write-back event is published.
@Suite struct BookThroughTheLinkTests {
    @Test func acceptOfferBookThroughTheLinkLadderStopsWriteBackPublished() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let clock = ManualClock(RFC3339.parse("2026-12-01T14:30:00Z")!)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "crown", codes: [("D2740", 135_000)])])
        let classifier = try h.classifier(clock: clock)
        let offer = try h.offer(clock: clock)
        let relay = try h.relay()
        let timers = h.timers(clock: clock)
        let runs = [
            Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() },
            Running { try await timers.run() },
        ]
        try await eventually("offer sent") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL") == 1
        }
        // The link the patient received, from the topic.
        let message = try EventValidator.shared.decode((try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1))[0].value)
        let path = String(message.data["link"]!.stringValue!.dropFirst("https://book.example.com".count))
        let service = BookingService(
            pool: h.pool, clock: clock,
            configuration: BookingConfiguration(bookingKey: BookingToken.key(fromSecret: PipelineHarness.bookingSecret)),
            logger: testLogger)
        let app = Application(router: BookingRouter.make(service))
        try await app.test(.router) { client in
            let page = try await client.get(path, json: true)
            #expect(page.status == .ok)
            let openings = page.json["openings"]?.arrayValue ?? []
            #expect(openings.count == 3)
            let booked = try await client.postJSON(path, .object(["reservation_id": openings[1]["reservation_id"]!]))
            #expect(booked.status == .ok)
            // The link is useless after booking.
            #expect(try await client.get(path).status == .notFound)
        }
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'crown' AND status = 'booked'") == 1)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE kind = 'booking' AND active") == 1)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        #expect(try await h.count("SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        // Days later nothing fires: the ladder stopped at the booking.
        clock.set(RFC3339.parse("2026-12-06T14:30:00Z")!)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await h.count("SELECT count(*) FROM offers WHERE kind = 'nudge'") == 0)
        #expect(try await h.count("SELECT count(*) FROM coordinator_tasks") == 0)
        let writeBack = try await h.consumeAll(topic: h.topics[.appointmentRequests], expected: 1)
        #expect(writeBack.count == 1)
        let request = try EventValidator.shared.decode(writeBack[0].value, expecting: [.appointmentRequests])
        #expect(request.data["plan_id"] == "crown")
        #expect(request.data["booked_via"] == "link")
        // the second opening (the first is today's, 2 h on): Wed 8:00 AM New York
        #expect(request.data["start"].flatMap { $0.stringValue.flatMap(RFC3339.parse) } == RFC3339.parse("2026-12-02T13:00:00Z"))
        for r in runs { await r.stop() }
        await h.close()
    }
}
