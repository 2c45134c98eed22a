import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import Testing

@testable import PlanRouterWorkers

/// The confirmation's reschedule link on a case the real workers offered and the patient booked: the page holds
/// fresh openings through the offer planner and moving the booking is one transaction.
@Suite struct RescheduleTests {
    /// A booked crown case (the first opening of its offer) and the reschedule link of its confirmation.
    struct Booked {
        let o: LaterTimesTests.Offered
        let bookedReservation: Int64
        let path: String

        init() async throws {
            let o = try await LaterTimesTests.Offered()
            self.o = o
            bookedReservation = try await o.test { client in
                let first = try await client.get(o.path, json: true)
                let chosen = first.json["openings"]!.arrayValue![0]["reservation_id"]!
                let booked = try await client.postJSON(o.path, .object(["reservation_id": chosen]))
                #expect(booked.status == .ok)
                return chosen.int64Value!
            }
            let confirmation = try #require(try await ConfirmationTests.confirmations(o.h.pool).first)
            path = try #require(Self.reschedulePath(confirmation.body))
        }

        /// The `/reschedule/<token>` path of a message body's link.
        static func reschedulePath(_ body: String) -> String? {
            guard let r = body.range(of: "http://localhost:8080/reschedule/") else { return nil }
            let token = body[r.upperBound...].prefix { !$0.isWhitespace }
            return "/reschedule/" + token
        }

        func requests() async throws -> [AppointmentRequest] {
            try await o.h.pool.withConnection {
                try await $0.query("SELECT payload FROM outbox WHERE topic = 'pms.appointment-requests' ORDER BY id").map {
                    try AppointmentRequest(data: try EventValidator.shared.decode(try $0.decode(0, as: [UInt8].self)).data)
                }
            }
        }
    }

    @Test func movingABookingReleasesTheOldTimeBooksTheNewOneAndConfirmsWithTheSameCalendarEvent() async throws {
        let b = try await Booked()
        let firstRequest = try #require(try await b.requests().first)
        let (moved, chosen) = try await b.o.test { client -> (TestResponse, Int64) in
            let html = try await client.get(b.path)
            #expect(html.status == .ok && html.text.contains("change your appointment"))
            let page = try await client.get(b.path, json: true)
            #expect(page.json["status"] == "open")
            #expect(page.json["appointment"]?["reservation_id"]?.int64Value == b.bookedReservation)
            let openings = page.json["openings"]?.arrayValue ?? []
            #expect(openings.count == 3)
            // Reloading the page reuses the held openings: nothing more is held.
            let again = try await client.get(b.path, json: true)
            #expect(again.json["openings"] == page.json["openings"])
            let chosen = openings[1]["reservation_id"]!
            return (try await client.postJSON(b.path, .object(["reservation_id": chosen])), chosen.int64Value!)
        }
        #expect(moved.status == .ok)
        #expect(moved.json["status"] == "moved" && moved.json["sequence"] == .int(1))
        let h = b.o.h
        #expect(
            try await h.count(
                "SELECT count(*) FROM reservations WHERE id = \(b.bookedReservation) AND NOT active AND release_reason = 'rescheduled'")
                == 1)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE id = \(chosen) AND kind = 'booking' AND active") == 1)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'crown' AND status = 'booked'") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE kind = 'rescheduled' AND (detail->>'sequence')::int = 1") == 1)
        // The write-back gets a request naming the appointment it replaces.
        let requests = try await b.requests()
        #expect(requests.count == 2)
        #expect(requests.last?.replacesRequestID == firstRequest.requestID)
        // A new confirmation whose calendar file keeps the first booking's UID with SEQUENCE 1.
        let confirmations = try await ConfirmationTests.confirmations(h.pool)
        #expect(confirmations.count == 2)
        let link = try #require(confirmations.last?.link)
        let ics = try await b.o.test { client in try await client.get(String(link.dropFirst("http://localhost:8080".count))) }
        let lines = ics.text.components(separatedBy: "\r\n")
        #expect(lines.contains("UID:booking-\(b.bookedReservation)@planrouter") && lines.contains("SEQUENCE:1"))
        await h.close()
    }

    @Test func aDoubleSubmitMovesOnce() async throws {
        let b = try await Booked()
        try await b.o.test { client in
            let page = try await client.get(b.path, json: true)
            let chosen = page.json["openings"]!.arrayValue![0]["reservation_id"]!
            let first = try await client.postForm(b.path, "reservation_id=\(chosen.int64Value!)")
            let second = try await client.postForm(b.path, "reservation_id=\(chosen.int64Value!)")
            #expect(first.status == .ok && second.status == .ok)
            #expect(second.text.contains("Your appointment is moved"))
        }
        #expect(try await b.o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'rescheduled'") == 1)
        #expect(try await b.requests().count == 2)
        #expect(try await ConfirmationTests.confirmations(b.o.h.pool).count == 2)
        await b.o.h.close()
    }

    @Test func forgedExpiredOtherPurposeAndOtherOrganizationLinksAreTheSame404() async throws {
        let b = try await Booked()
        let start = Int64(
            try await b.o.h.count("SELECT extract(epoch FROM lower(during))::int8 FROM reservations WHERE id = \(b.bookedReservation)"))
        @Sendable func token(
            _ org: String = "org-1", expires: Int64 = start, purpose: BookingToken.Purpose = .reschedule,
            secret: String = PipelineHarness.bookingSecret
        ) -> String {
            BookingToken(offerID: 0, organizationID: org, planID: "crown", expiresAt: expires, purpose: purpose)
                .sign(secret: BookingToken.key(fromSecret: secret))
        }
        try await b.o.test { client in
            let valid = try await client.get("/reschedule/\(token())")
            #expect(valid.status == .ok)
            var refused: [TestResponse] = []
            refused.append(try await client.get("/reschedule/\(token(secret: "another-secret"))"))
            refused.append(try await client.get("/reschedule/\(token("org-2"))"))
            refused.append(try await client.get("/reschedule/\(token(purpose: .calendar))"))
            refused.append(try await client.get("/reschedule/\(token(purpose: .book))"))
            refused.append(try await client.postForm("/reschedule/\(token("org-2"))", "reservation_id=1"))
            // A reschedule link is no booking or calendar link either.
            refused.append(try await client.get("/book/\(token())"))
            refused.append(try await client.get("/calendar/\(token())"))
            #expect(refused.allSatisfy { $0.status == .notFound && $0.text == refused[0].text })
            // Expired: the link ends at the appointment's start.
            b.o.clock.set(Date(timeIntervalSince1970: Double(start)))
            let expired = try await client.get("/reschedule/\(token())")
            #expect(expired.status == .notFound && expired.text == refused[0].text)
        }
        #expect(try await b.o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'rescheduled'") == 0)
        await b.o.h.close()
    }

    @Test func aPastAppointmentOrACancelledCaseSaysSoPlainly() async throws {
        let b = try await Booked()
        let start = Int64(
            try await b.o.h.count("SELECT extract(epoch FROM lower(during))::int8 FROM reservations WHERE id = \(b.bookedReservation)"))
        // A link still valid (an older link of a booking moved earlier) after the appointment's start.
        let late = BookingToken(offerID: 0, organizationID: "org-1", planID: "crown", expiresAt: start + 86_400, purpose: .reschedule)
            .sign(secret: BookingToken.key(fromSecret: PipelineHarness.bookingSecret))
        b.o.clock.set(Date(timeIntervalSince1970: Double(start + 60)))
        try await b.o.test { client in
            let page = try await client.get("/reschedule/\(late)")
            #expect(page.status == .ok && page.text.contains("too close to the appointment (or past it)"))
            let json = try await client.get("/reschedule/\(late)", json: true)
            #expect(json.json["status"] == "too_late" && json.json["openings"] == nil)
            let post = try await client.postForm("/reschedule/\(late)", "reservation_id=999999")
            #expect(post.status == .ok && post.text.contains("too close"))
        }
        #expect(try await b.o.h.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        _ = try await b.o.h.pool.withConnection { try await $0.execute("UPDATE plans SET status = 'cancelled' WHERE plan_id = 'crown'") }
        try await b.o.test { client in
            let page = try await client.get("/reschedule/\(late)")
            #expect(page.status == .ok && page.text.contains("can no longer be changed online"))
        }
        #expect(try await b.o.h.count("SELECT count(*) FROM plan_events WHERE kind = 'rescheduled'") == 0)
        await b.o.h.close()
    }
}
