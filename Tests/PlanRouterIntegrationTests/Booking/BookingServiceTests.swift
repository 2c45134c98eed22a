import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@Suite struct BookingServiceTests {
    @Test func bookingPageListsTheHeldOpeningsInLocalTimeEscapedWithTheDeposit() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.test { client in
            let page = try await client.get("/book/\(token)")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("Hi &lt;Ann&gt;"))
            #expect(page.text.contains("Smile &amp; &lt;Co&gt;"))
            #expect(!page.text.contains("<Ann>") && !page.text.contains("Secretlast") && !page.text.contains("5550001111"))
            #expect(
                page.text.contains("Wed Dec 2, 8:00 AM") && page.text.contains("Thu Dec 3, 8:00 AM")
                    && page.text.contains("Fri Dec 4, 8:00 AM"))
            // One form per opening, and "None of these work".
            #expect(page.text.components(separatedBy: "<form method=\"post\">").count == 5)
            #expect(page.text.contains("value=\"\(f.holds[0])\""))
            #expect(page.text.contains("$500.00"))
            #expect(page.headers[.init("Referrer-Policy")!] == "no-referrer")

            let json = try await client.get("/book/\(token)", json: true)
            #expect(json.status == .ok)
            #expect(json.json["plan_id"] == "p1")
            #expect(json.json["deposit_cents"] == 50_000)
            #expect(json.json["location"]?["id"] == "loc-12")
            let openings = json.json["openings"]?.arrayValue ?? []
            #expect(openings.map { $0["reservation_id"]?.int64Value } == f.holds.map { Optional($0) })
            #expect(openings.first?["start"] == "2026-12-02T08:00:00-05:00")
            #expect(openings.first?["end"] == "2026-12-02T09:30:00-05:00")
            #expect(openings.first?["local_time"] == "Wed Dec 2, 8:00 AM")
            #expect(openings.first?["provider_id"] == "prov-p1")
            #expect(!json.text.contains("Secretlast") && !json.text.contains("pat-1"))
        }
        await f.pool.close()
    }

    @Test func noneOfTheseWorkHandsTheCaseToACoordinatorAndFreesTheHeldTimes() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.test { client in
            #expect(try await client.get("/book/\(token)").text.contains("None of these work: please call me"))
            let asked = try await client.postForm("/book/\(token)", "none_work=call")
            #expect(asked.status == .ok)
            #expect(asked.text.contains("We&#39;ll call you") || asked.text.contains("We'll call you"))
            // Asked again (a double tap, or the JSON API): the same answer, still one task.
            let again = try await client.postJSON("/book/\(token)", .object(["none_work": "call"]))
            #expect(again.status == .ok)
            #expect(again.json["status"] == "call_requested")
            // The link now says the practice will be in touch, and offers nothing.
            let after = try await client.get("/book/\(token)")
            #expect(after.text.contains("will be in touch"))
            #expect(!after.text.contains("reservation_id"))
        }
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'p1' AND kind = 'callback' AND status = 'open'
                  AND reason LIKE '%none of the offered times work%'
                """) == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'escalated'") == 1)
        #expect(try await f.count("SELECT count(*) FROM plan_events WHERE plan_id = 'p1' AND kind = 'escalated'") == 1)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE plan_id = 'p1' AND kind = 'hold' AND active") == 0)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE plan_id = 'p1' AND release_reason = 'declined_by_patient'") == 3)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
        await f.pool.close()
    }

    @Test func theLocationsPhoneFromTheLocationsFileIsOnThePage() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.test { client in
            let before = try await client.get("/book/\(token)").text
            #expect(!before.contains("Questions? Call"))
        }
        let yaml = """
            format: 1
            organization: { id: org-1, name: Smile Group }
            locations:
              loc-12: { name: Smile Riverside, phone: "+15555550100" }
            """
        _ = try await f.pool.withConnection { try await LocationDirectoryRepository.load(yaml: yaml, now: Date(), on: $0) }
        try await f.test { client in
            let page = try await client.get("/book/\(token)").text
            #expect(page.contains("At Smile Riverside."))
            #expect(page.contains("Questions? Call Smile Riverside at <a href=\"tel:+15555550100\">+15555550100</a>."))
        }
        await f.pool.close()
    }

    @Test func postingAnOpeningBooksItAndClosesTheCase() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        let chosen = f.holds[1]
        try await f.test { client in
            let r = try await client.postForm("/book/\(token)", "reservation_id=\(chosen)")
            #expect(r.status == .ok)
            #expect(r.text.contains("booked, &lt;Ann&gt;"))
            #expect(r.text.contains("Thu Dec 3, 8:00 AM"))
            // An .ics of the booked time (UTC), to add to the patient's calendar.
            let href = try #require(
                r.text.components(separatedBy: "href=\"data:text/calendar;charset=utf-8,").dropFirst().first?
                    .components(separatedBy: "\"").first)
            let ics = try #require(href.removingPercentEncoding)
            #expect(ics.contains("DTSTART:20261203T130000Z\r\nDTEND:20261203T143000Z\r\n"))
            #expect(ics.contains("SUMMARY:Appointment at Smile & <Co>") && r.text.contains("download=\"appointment.ics\""))
            // The link is spent: replaying it is the same 404 as any invalid link.
            let replay = try await client.postForm("/book/\(token)", "reservation_id=\(chosen)")
            #expect(replay.status == .notFound)
            let again = try await client.get("/book/\(token)")
            #expect(again.status == .notFound)
        }
        #expect(
            try await f.count(
                "SELECT count(*) FROM reservations WHERE id = \(chosen) AND kind = 'booking' AND active AND expires_at IS NULL") == 1)
        #expect(
            try await f.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND NOT active AND release_reason = 'booked_other'")
                == 2)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'hold' AND active") == 0)
        #expect(try await f.count("SELECT count(*) FROM timers WHERE status = 'cancelled'") == 2)
        #expect(try await f.count("SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        #expect(try await f.count("SELECT count(*) FROM coordinator_tasks WHERE status = 'cancelled' AND outcome = 'booked'") == 1)
        #expect(try await f.count("SELECT count(*) FROM offers WHERE id = \(f.offerID) AND used_at IS NOT NULL") == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'booked'") == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM plan_events WHERE kind = 'booked' AND detail->>'via' = 'link'
                  AND (detail->>'reservation_id')::int8 = \(chosen) AND (detail->>'offer_id')::int8 = \(f.offerID)
                  AND (detail->>'seconds_from_acceptance')::int8 = 3600
                """) == 1)
        #expect(try await f.count("SELECT calendar_version FROM locations WHERE id = 'loc-12'") == 1)

        let payloads = try await f.pool.withConnection {
            try await $0.query("SELECT payload, convert_from(key, 'UTF8') FROM outbox WHERE topic = 'pms.appointment-requests'").map {
                (try $0.decode(0, as: [UInt8].self), try $0.decode(1, as: String.self))
            }
        }
        #expect(payloads.count == 1)
        #expect(payloads.first?.1 == "loc-12")
        let event = try EventValidator.shared.decode(payloads[0].0, expecting: [.appointmentRequests])
        #expect(event.data["plan_id"] == "p1")
        #expect(event.data["patient_id"] == "pat-1")
        #expect(event.data["provider_id"] == "prov-p1")
        #expect(event.data["operatory_id"] == "op-p1")
        #expect(event.data["start"] == "2026-12-03T08:00:00-05:00")
        #expect(event.data["end"] == "2026-12-03T09:30:00-05:00")
        #expect(event.data["procedure_codes"] == ["D2740"])
        #expect(event.data["booked_via"] == "link")
        #expect(event.data["booked_at"] == "2026-12-01T14:30:00Z")
        #expect(f.service.metrics.snapshot.bookings == 1)
        await f.pool.close()
    }

    @Test func jsonBookingAnswersWithTheAppointment() async throws {
        let f = try await BookingFixture()
        try await f.test { client in
            let r = try await client.postJSON("/book/\(f.token())", .object(["reservation_id": .int(f.holds[0])]))
            #expect(r.status == .ok)
            #expect(r.json["status"] == "booked")
            #expect(r.json["appointment"]?["reservation_id"]?.int64Value == f.holds[0])
            #expect(r.json["appointment"]?["local_time"] == "Wed Dec 2, 8:00 AM")
            let bad = try await client.postJSON("/book/\(f.token())", .object(["reservation": 1]))
            #expect(bad.status == .badRequest)
        }
        await f.pool.close()
    }

    @Test func everyInvalidLinkGetsTheSame404() async throws {
        let f = try await BookingFixture()
        let good = f.token()
        var chars = Array(good)
        let i = chars.count - 3
        chars[i] = chars[i] == "A" ? "B" : "A"
        let tampered = String(chars)
        let unknownOffer = f.token(offer: 999_999)
        let otherPlan = f.token(plan: "someone-else")
        let shortLived = f.token(expiresIn: 60)
        try await f.test { client in
            var pages: [TestResponse] = []
            var jsons: [TestResponse] = []
            for t in [tampered, unknownOffer, otherPlan, "not-a-token", String(repeating: "x", count: 5000)] {
                pages.append(try await client.get("/book/\(t)"))
                jsons.append(try await client.get("/book/\(t)", json: true))
                pages.append(try await client.postForm("/book/\(t)", "reservation_id=\(f.holds[0])"))
            }
            // Expired: the clock moves past the token's expiry (the holds would still be valid).
            f.clock.advance(by: 61)
            pages.append(try await client.get("/book/\(shortLived)"))
            jsons.append(try await client.get("/book/\(shortLived)", json: true))
            pages.append(try await client.postForm("/book/\(shortLived)", "reservation_id=\(f.holds[0])"))
            // Used: book with a good token, then every use of it.
            #expect(try await client.postForm("/book/\(good)", "reservation_id=\(f.holds[0])").status == .ok)
            pages.append(try await client.get("/book/\(good)"))
            jsons.append(try await client.get("/book/\(good)", json: true))
            pages.append(try await client.postForm("/book/\(good)", "reservation_id=\(f.holds[1])"))

            #expect(pages.allSatisfy { $0.status == .notFound })
            #expect(Set(pages.map(\.text)).count == 1)
            #expect(Set(pages.map { $0.headers[.contentType] ?? "" }).count == 1)
            #expect(jsons.allSatisfy { $0.status == .notFound })
            #expect(Set(jsons.map(\.text)).count == 1)
            #expect(!pages[0].text.contains("p1") && !pages[0].text.contains("Ann"))
        }
        #expect(f.service.metrics.snapshot.tokenFailures == 5 * 3 + 3 + 3)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 1)
        await f.pool.close()
    }

    @Test func fiftyConcurrentPostsOfOneLinkBookExactlyOnce() async throws {
        let f = try await BookingFixture(poolSize: 8)
        let token = f.token()
        let hold = f.holds[0]
        let statuses = try await f.test { client in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.postForm("/book/\(token)", "reservation_id=\(hold)").status }
                }
                var out: [HTTPResponse.Status] = []
                for try await s in group { out.append(s) }
                return out
            }
        }
        #expect(statuses.count == 50)
        #expect(statuses.filter { $0 == .ok }.count == 1)
        #expect(statuses.allSatisfy { $0 == .ok || $0 == .notFound || $0 == .conflict })
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 1)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'") == 1)
        #expect(try await f.count("SELECT count(*) FROM plan_events WHERE kind = 'booked'") == 1)
        await f.pool.close()
    }

    @Test func aTakenOpeningAnswers409WithTheOpeningsStillHeld() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.pool.withConnection {
            _ = try await $0.execute("UPDATE reservations SET active = false, release_reason = 'test' WHERE id = $1", f.holds[0])
        }
        try await f.test { client in
            let r = try await client.postJSON("/book/\(token)", .object(["reservation_id": .string(String(f.holds[0]))]))
            #expect(r.status == .conflict)
            #expect(r.json["openings"]?.arrayValue?.map { $0["reservation_id"]?.int64Value } == [f.holds[1], f.holds[2]])
            let page = try await client.postForm("/book/\(token)", "reservation_id=\(f.holds[0])")
            #expect(page.status == .conflict)
            #expect(page.text.contains("Thu Dec 3, 8:00 AM") && !page.text.contains("Wed Dec 2, 8:00 AM"))
            // A hold of another plan is not this link's to book.
            let (_, others) = try await f.addCase(plan: "p2")
            #expect(try await client.postForm("/book/\(token)", "reservation_id=\(others[0])").status == .conflict)
            // Expired holds are not offered either; with none left the office will be in touch, and a coordinator has the case.
            f.clock.set(BookingFixture.now.addingTimeInterval(2 * 86_400 - 1))
            _ = try await f.pool.withConnection {
                try await $0.execute(
                    "UPDATE reservations SET expires_at = $1 WHERE plan_id = 'p1'", BookingFixture.now.addingTimeInterval(3600))
            }
            let none = try await client.postJSON("/book/\(token)", .object(["reservation_id": .int(f.holds[1])]))
            #expect(none.status == .conflict)
            #expect(none.json["openings"] == [])
            let call = try await client.postForm("/book/\(token)", "reservation_id=\(f.holds[1])")
            #expect(call.text.contains("will be in touch"))
            #expect(try await client.get("/book/\(token)").text.contains("will be in touch"))
        }
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'escalated'") == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM coordinator_tasks
                WHERE plan_id = 'p1' AND kind = 'no_availability' AND status = 'open'
                """) == 1)
        #expect(f.service.metrics.snapshot.conflicts == 5)
        await f.pool.close()
    }

    @Test func bookingTakesOnlyAFormOrJSON() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.test { client in
            for contentType in ["text/plain", "multipart/form-data; boundary=x", ""] {
                var headers: HTTPFields = [:]
                if !contentType.isEmpty { headers[.contentType] = contentType }
                let r = try await client.execute(
                    uri: "/book/\(token)", method: .post, headers: headers, body: ByteBuffer(string: "reservation_id=\(f.holds[0])"))
                #expect(r.status == .unsupportedMediaType, "\(contentType)")
            }
        }
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        await f.pool.close()
    }

    @Test func healthAndMetrics() async throws {
        let f = try await BookingFixture()
        try await f.test { client in
            let ok = try await client.get("/healthz")
            #expect(ok.status == .ok)
            #expect(ok.text == "ok\n")
            let head = try await client.execute(uri: "/healthz", method: .head)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
        }
        await f.pool.close()
        // A database that does not answer.
        let dead = PostgresPool(conninfo: "postgresql://planrouter@127.0.0.1:1/none?connect_timeout=1", size: 1, logger: testLogger)
        let service = BookingService(
            pool: dead, clock: ManualClock(BookingFixture.now), configuration: BookingConfiguration(bookingKey: BookingFixture.key),
            logger: testLogger)
        let status = try await Application(router: BookingRouter.make(service)).test(.router) { client in
            try await client.get("/healthz").status
        }
        #expect(status == .serviceUnavailable)
        await dead.close()
    }
}
