import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import Testing

/// Issue 12: a booking link offers and books only openings that are real now — not started
/// (after now + the offer lead time, 15 min by default) and still in the mirrored calendar.
@Suite struct BookingOpeningsStayRealTests {
    /// Wed 2026-12-02 07:50 New York: the first opening (08:00) starts within the 15-minute lead.
    static let tenToEight = RFC3339.parse("2026-12-02T12:50:00Z")!

    @Test func anOpeningAboutToStartIsNeitherShownNorBookable() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        f.clock.set(Self.tenToEight)
        try await f.test { client in
            let page = try await client.get("/book/\(token)")
            #expect(page.status == .ok)
            #expect(!page.text.contains("Wed Dec 2, 8:00 AM"))
            #expect(page.text.contains("Thu Dec 3, 8:00 AM") && page.text.contains("Fri Dec 4, 8:00 AM"))
            #expect(page.text.contains("Some of the times we offered are no longer available"))
            let json = try await client.get("/book/\(token)", json: true)
            #expect(json.json["openings"]?.arrayValue?.map { $0["reservation_id"]?.int64Value } == [f.holds[1], f.holds[2]])
            #expect(json.json["openings_gone"] == 1)

            let r = try await client.postJSON("/book/\(token)", .object(["reservation_id": .int(f.holds[0])]))
            #expect(r.status == .conflict)
            #expect(r.json["error"] == "opening_unavailable")
            #expect(r.json["message"]?.stringValue?.contains("no longer available") == true)
            #expect(r.json["openings"]?.arrayValue?.map { $0["reservation_id"]?.int64Value } == [f.holds[1], f.holds[2]])
            let form = try await client.postForm("/book/\(token)", "reservation_id=\(f.holds[0])")
            #expect(form.status == .conflict)
            #expect(form.text.contains("That time is no longer available"))
            #expect(form.text.contains("Thu Dec 3, 8:00 AM") && !form.text.contains("Wed Dec 2, 8:00 AM"))
        }
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'") == 0)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'offered'") == 1)
        await f.pool.close()
    }

    /// Every opening has started: the page says so and that the practice will be in touch, and
    /// the case goes to a coordinator at once (one task, however often the link is opened).
    @Test func withEveryOpeningGoneTheCaseGoesToACoordinator() async throws {
        let f = try await BookingFixture()
        let token = f.token(expiresIn: 5 * 86_400)
        _ = try await f.pool.withConnection {
            try await $0.execute(
                "UPDATE reservations SET expires_at = $1 WHERE plan_id = 'p1'", BookingFixture.now.addingTimeInterval(5 * 86_400))
        }
        f.clock.set(RFC3339.parse("2026-12-04T13:00:00Z")!)  // Fri 08:00 New York: the last opening starts now
        try await f.test { client in
            let page = try await client.get("/book/\(token)")
            #expect(page.status == .ok)
            #expect(page.text.contains("None of the times we offered is still available"))
            #expect(page.text.contains("will be in touch"))
            #expect(!page.text.contains("<form"))
            #expect(try await client.get("/book/\(token)").status == .ok)
            let r = try await client.postJSON("/book/\(token)", .object(["reservation_id": .int(f.holds[2])]))
            #expect(r.status == .conflict)
            #expect(r.json["openings"] == [])
            #expect(r.json["message"]?.stringValue?.contains("will be in touch") == true)
        }
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'escalated'") == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM coordinator_tasks
                WHERE plan_id = 'p1' AND kind = 'no_availability' AND urgent AND status = 'open' AND owner_id <> ''
                """)
                == 1)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
        #expect(try await f.count("SELECT count(*) FROM plan_events WHERE plan_id = 'p1' AND kind = 'escalated'") == 1)
        let payloads = try await f.pool.withConnection {
            try await $0.query("SELECT payload FROM outbox WHERE topic = 'coordinator.tasks'").map { try $0.decode(0, as: [UInt8].self) }
        }
        let payload = try #require(payloads.first)
        let task = try EventValidator.shared.decode(payload, expecting: [.coordinatorTasks])
        #expect(task.data["kind"] == "no_availability")
        #expect(!String(decoding: payload, as: UTF8.self).contains("Ann"))
        await f.pool.close()
    }

    /// The mirror changed under a hold that no worker released (yet): the booking re-checks the
    /// opening against the current calendar inside its transaction and refuses it.
    @Test func bookingReChecksTheOpeningAgainstTheCurrentCalendar() async throws {
        let f = try await BookingFixture()
        let token = f.token()
        try await f.pool.withConnection { conn in
            // Wednesday's hours are gone from the schedule (the office is closed that day).
            _ = try await conn.execute(
                "DELETE FROM schedule_blocks WHERE provider_id = 'prov-p1' AND during @> to_timestamp($1::int8)", BookingFixture.firstStart)
            // Thursday: a blockout over the opening.
            _ = try await conn.execute(
                """
                INSERT INTO blockouts (organization_id, location_id, provider_id, during, kind, changed_at)
                VALUES ('org-1', 'loc-12', NULL, tstzrange(to_timestamp($1::int8), to_timestamp($1::int8 + 3600)), 'do_not_schedule', $2)
                """, BookingFixture.firstStart + 86_400, BookingFixture.now)
        }
        try await f.test { client in
            for hold in f.holds.prefix(2) {
                let r = try await client.postJSON("/book/\(token)", .object(["reservation_id": .int(hold)]))
                #expect(r.status == .conflict)
                #expect(r.json["openings"]?.arrayValue?.map { $0["reservation_id"]?.int64Value } == [f.holds[2]])
            }
            // Friday: a PMS appointment of another patient lands on the provider's time.
            _ = try await f.pool.withConnection { conn in
                try await conn.execute(
                    """
                    INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id,
                                              patient_id, appointment_id, status, changed_at, created_at)
                    VALUES ('loc-12', 'prov-p1', 'op-9', tstzrange(to_timestamp($1::int8), to_timestamp($1::int8 + 1800)),
                            tstzrange(to_timestamp($1::int8), to_timestamp($1::int8 + 1800)), 'pms', 'org-1', 'pat-2', 'appt-1',
                            'scheduled', $2, $2)
                    """, BookingFixture.firstStart + 2 * 86_400, BookingFixture.now)
            }
            let last = try await client.postJSON("/book/\(token)", .object(["reservation_id": .int(f.holds[2])]))
            #expect(last.status == .conflict)
            #expect(last.json["openings"] == [])
        }
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'") == 0)
        await f.pool.close()
    }
}
