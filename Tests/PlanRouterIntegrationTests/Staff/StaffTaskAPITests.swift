import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStaff
import Testing

/// The coordinator task API on the staff surface, called with an org-1 key that sees every location.
@Suite struct StaffTaskAPITests {
    @Test func tasksAreFilteredAndOldestFirst() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        try await f.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, created_at, status)
                VALUES ('org-1', 'p1', 'loc-12', 'tc-bob', 'callback', true, 'call back', $1, 'open'),
                       ('org-1', 'p1', 'loc-99', 'tc-anna', 'no_availability', false, 'nothing free', $2, 'open'),
                       ('org-1', 'p1', 'loc-12', 'tc-anna', 'callback', false, 'done', $1, 'resolved')
                """, BookingFixture.now.addingTimeInterval(-7200), BookingFixture.now.addingTimeInterval(-60))
        }
        try await f.test { client async throws in
            let all = try await client.staffGet("/tasks", key: key).json["tasks"]?.arrayValue ?? []
            #expect(all.map { $0["reason"]?.stringValue } == ["call back", "nothing free", "no answer"])
            #expect(all.first?["urgent"] == true)
            #expect(all.first?["created_at"] == "2026-12-01T12:30:00Z")
            #expect(all.last?["context"]?["tier"] == "major")
            #expect(all.allSatisfy { $0["plan_id"] == "p1" && $0["kind"] != nil && $0["owner_id"] != nil })
            // Task ids are random UUIDs, not the row's sequence number.
            let ids = all.compactMap { $0["id"]?.stringValue }
            #expect(ids.count == 3 && ids.allSatisfy { UUID(uuidString: $0) != nil && Int64($0) == nil })
            let here = try await client.staffGet("/tasks?location=loc-12", key: key).json["tasks"]?.arrayValue ?? []
            #expect(here.map { $0["reason"]?.stringValue } == ["call back", "no answer"])
            let anna = try await client.staffGet("/tasks?location=loc-12&owner=tc-anna", key: key).json["tasks"]?.arrayValue ?? []
            #expect(anna.map { $0["reason"]?.stringValue } == ["no answer"])
            let resolved = try await client.staffGet("/tasks?status=resolved", key: key).json["tasks"]?.arrayValue ?? []
            #expect(resolved.map { $0["reason"]?.stringValue } == ["done"])
            #expect(try await client.staffGet("/tasks?status=bogus", key: key).status == .badRequest)
            #expect(try await client.staffGet("/tasks?owner=nobody", key: key).json["tasks"] == [])
        }
        await f.pool.close()
    }

    @Test func resolvingTasks() async throws {
        let f = try await StaffFixture()
        let key = try await f.key()
        _ = try await f.booking.addCase(plan: "p2")
        _ = try await f.booking.addCase(plan: "p3")
        let (t1, t2, t3) = (try await f.taskID("p1"), try await f.taskID("p2"), try await f.taskID("p3"))
        try await f.test { client async throws in
            let declined = try await client.staffPost(
                "/tasks/\(t1)/resolve", key: key, body: #"{"outcome": "declined", "note": "not now"}"#)
            #expect(declined.status == .ok)
            #expect(declined.json["id"]?.stringValue == t1)
            #expect(declined.json["status"] == "resolved")
            #expect(declined.json["outcome"] == "declined")
            #expect(declined.json["note"] == "not now")
            #expect(declined.json["resolved_at"] == "2026-12-01T14:30:00Z")
            #expect(try await client.resolve(t1, "other", key: key).status == .conflict)
            #expect(try await client.resolve(t2, "booked_by_phone", key: key).status == .ok)
            #expect(try await client.resolve(t3, "unreachable", key: key).status == .ok)
            #expect(try await client.resolve(t3, "maybe", key: key).status == .badRequest)
            #expect(try await client.staffPost("/tasks/\(t3)/resolve", key: key, body: "{}").status == .badRequest)
            #expect(try await client.resolve(UUID().uuidString, "other", key: key).status == .notFound)
            #expect(try await client.resolve("1", "other", key: key).status == .notFound)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'declined'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM plans WHERE plan_id = 'p2' AND status = 'booked'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM plans WHERE plan_id = 'p3' AND status = 'offered'") == 1)
        for (plan, reason) in [("p1", "declined"), ("p2", "booked_by_phone")] {
            #expect(try await f.booking.count("SELECT count(*) FROM timers WHERE plan_id = '\(plan)' AND status = 'cancelled'") == 2)
            #expect(
                try await f.booking.count(
                    "SELECT count(*) FROM reservations WHERE plan_id = '\(plan)' AND NOT active AND release_reason = '\(reason)'") == 3)
        }
        #expect(try await f.booking.count("SELECT count(*) FROM timers WHERE plan_id = 'p3' AND status = 'pending'") == 2)
        #expect(try await f.booking.count("SELECT count(*) FROM reservations WHERE plan_id = 'p3' AND active") == 3)
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM plan_events WHERE plan_id = 'p1' AND kind = 'declined' AND detail->>'outcome' = 'declined'") == 1)
        #expect(
            try await f.booking.count(
                "SELECT count(*) FROM plan_events WHERE plan_id = 'p2' AND kind = 'booked' AND detail->>'via' = 'phone'") == 1)
        #expect(try await f.booking.count("SELECT count(*) FROM plan_events WHERE plan_id = 'p3' AND kind = 'task_resolved'") == 1)
        #expect(f.booking.service.metrics.snapshot.resolutions == ["declined": 1, "booked_by_phone": 1, "unreachable": 1])
        await f.pool.close()
    }

    @Test func metricsAndHealthAreOnTheStaffSurface() async throws {
        let f = try await StaffFixture()
        // A refused booking link on the public surface shows in the staff surface's metrics (one process, one registry).
        try await f.booking.test { client in _ = try await client.get("/book/forged.token") }
        try await f.test { client async throws in
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("# TYPE planrouter_bookings_total counter\n"))
            #expect(metrics.text.contains("\nplanrouter_bookings_total{worker=\"booking\"} 0\n"))
            #expect(metrics.text.contains("\nplanrouter_booking_token_failures_total{worker=\"booking\"} 1\n"))
            #expect(metrics.text.contains("\nplanrouter_task_resolutions_total{worker=\"booking\",outcome=\"declined\"} 0\n"))
            #expect(try await client.get("/healthz").text == "ok\n")
            let head = try await client.execute(uri: "/metrics", method: .head)
            #expect(head.status == .ok && head.body.readableBytes == 0)
        }
        await f.pool.close()
    }
}
