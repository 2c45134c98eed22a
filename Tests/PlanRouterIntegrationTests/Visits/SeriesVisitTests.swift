import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Visits offered as a series (`series: true`, docs/rules.md#visits), on the real broker and PostgreSQL:
/// scaling and root planing of two quadrants (the shipped defaults make the quadrants a series). Booking
/// quadrant 1 in the PMS routes quadrant 2 at once, with openings a week or more after the booked start;
/// a cancelled and re-made booking and the completion route it no second time.
@Suite struct SeriesVisitTests {
    static func appointment(_ id: String, status: String, start: Date, changedAt: Date) -> JSONValue {
        var e = TestEvents.appointment(
            id: id, plan: "srp", status: status, start: RFC3339.format(start), changedAt: RFC3339.format(changedAt)
        ).objectValue!
        var d = e["data"]!.objectValue!
        d["procedure_codes"] = ["D4341"]
        d["length_minutes"] = 60
        e["data"] = .object(d)
        return .object(e)
    }

    func date(_ h: PipelineHarness, _ sql: String) async throws -> Date {
        try await h.pool.withConnection { try await $0.query(sql)[0].decode(0, as: Date.self) }
    }

    @Test func bookingTheFirstQuadrantRoutesTheSecondFromAWeekAfterItOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule(from: "2026-12-01", to: "2027-01-31")])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "srp", codes: [("D4341", 28_000), ("D4341", 28_000)])])
        let cluster = try WorkedExampleTests.Cluster(h)
        let clock = cluster.clock
        try await eventually("offered") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'srp' AND status = 'offered'") == 1
        }
        #expect(try await h.count("SELECT count(*) FROM plan_visits WHERE plan_id = 'srp' AND status = 'waiting' AND series") == 1)

        // The front desk books quadrant 1 in the PMS on the latest opening offered (Dec 3 or later).
        let start = try await date(h, "SELECT max(lower(during)) FROM reservations WHERE plan_id = 'srp' AND kind = 'hold'")
        let notBefore = start.addingTimeInterval(7 * 86_400)
        try await h.publish(
            events: [Self.appointment("appt-q1", status: "scheduled", start: start, changedAt: clock.now())],
            topic: h.topics[.appointmentChanged])
        try await eventually("booked") { try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'srp' AND status = 'booked'") == 1 }
        clock.set(clock.now().addingTimeInterval(60))

        // Quadrant 2 is routed now, not after quadrant 1 is completed, and none of its openings is inside the week.
        try await eventually("quadrant 2 offered") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'srp/visit-2' AND status = 'offered'") == 1
        }
        #expect(try await date(h, "SELECT not_before FROM plan_visits WHERE plan_id = 'srp' AND visit_number = 2") == notBefore)
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE plan_id = 'srp/visit-2' AND kind = 'hold' AND active") == 3)
        #expect(try await date(h, "SELECT min(lower(during)) FROM reservations WHERE plan_id = 'srp/visit-2'") >= notBefore)
        let acceptances = try await h.consumeAll(topic: h.topics[.planAccepted], expected: 2).map {
            try EventValidator.shared.decode($0.value)
        }
        let followUp = try #require(acceptances.first { $0.source == FollowUpVisit.source })
        #expect(followUp.id == FollowUpVisit.eventID(organizationID: "org-1", parent: "srp", number: 2))
        #expect(try followUp.decode(PlanAccepted.self).visit?.notBefore == notBefore)

        // The booking is cancelled and made again at another time, then completed: quadrant 2 is not routed again,
        // and the completion (the PMS names its own plan) does not book quadrant 2's open case.
        try await h.publish(
            events: [
                Self.appointment("appt-q1", status: "cancelled", start: start, changedAt: clock.now()),
                Self.appointment("appt-q1b", status: "scheduled", start: start.addingTimeInterval(86_400), changedAt: clock.now()),
            ], topic: h.topics[.appointmentChanged])
        try await eventually("booked again") {
            try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'srp' AND kind = 'booked'") == 2
        }
        clock.set(start.addingTimeInterval(86_400 + 3 * 3600))
        try await h.publish(
            events: [Self.appointment("appt-q1b", status: "completed", start: start.addingTimeInterval(86_400), changedAt: clock.now())],
            topic: h.topics[.appointmentChanged])
        try await eventually("completion applied") {
            try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'srp' AND kind = 'pms_appointment_unmatched'") == 1
        }
        #expect(try await h.count("SELECT count(*) FROM timers WHERE kind = 'visit_due'") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE kind IN ('visit_scheduled', 'visit_routed')") == 2)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'plan.accepted'") == 1)
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'srp/visit-2' AND status = 'offered'") == 1)
        #expect(try await date(h, "SELECT not_before FROM plan_visits WHERE plan_id = 'srp' AND visit_number = 2") == notBefore)
        await cluster.stop()
        await h.close()
    }
}
