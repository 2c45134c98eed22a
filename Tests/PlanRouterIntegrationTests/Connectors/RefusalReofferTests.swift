import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterConnectors
@testable import PlanRouterWorkers

/// A write-back refusal tells the patient their time could not be confirmed, with fresh
/// openings: the refusal's transaction schedules a `pms_refused` timer, the escalation worker
/// fires it through the offer planner (the classifier and offer handlers applied straight on a
/// fresh database, as in OfferedOpeningsStayRealTests).
@Suite struct RefusalReofferTests {
    typealias Real = OfferedOpeningsStayRealTests

    /// The case offered (three openings held), then booked on its first opening; a pending write-back of the booking.
    func bookedCase(_ d: Real.Desk) async throws -> (key: PlanKey, booked: Int64) {
        try await d.apply(d.offer, [TestEvents.schedule()], now: Real.now.addingTimeInterval(-1800))
        try await d.accept(TestEvents.acceptedWith(plan: "implant", codes: Real.implant), now: Real.now)
        let key = PlanKey(organizationID: "org-1", planID: "implant")
        let booked = try #require(try await d.holds("implant").first)
        let bookedAt = Real.now.addingTimeInterval(600)
        try await d.pool.withTransaction { tx in
            let id = try await tx.query(
                "SELECT id FROM reservations WHERE plan_id = 'implant' AND kind = 'hold' AND active ORDER BY lower(during) LIMIT 1"
            )[0].decode(0, as: Int64.self)
            try await ReservationsRepository.book(id, of: key, now: bookedAt, on: tx)
            _ = try await ReservationsRepository.releaseHolds(
                ids: try await tx.query("SELECT id FROM reservations WHERE plan_id = 'implant' AND kind = 'hold' AND active").map {
                    try $0.decode(0, as: Int64.self)
                }, reason: "booked", now: bookedAt, on: tx)
            #expect(try await PlansRepository.transition([(key, .booked)], from: [.offered], now: bookedAt, on: tx).count == 1)
            let start = Date(timeIntervalSince1970: Double(booked))
            let request = AppointmentRequest(
                requestID: "req-1", organizationID: "org-1", locationID: "loc-12", planID: "implant", patientID: "pat-1",
                providerID: "prov-3", operatoryID: "op-1", start: OffsetDateTime(start, in: Real.ny),
                end: OffsetDateTime(start.addingTimeInterval(5400), in: Real.ny), procedureCodes: ["D6010"], bookedVia: .link,
                bookedAt: bookedAt)
            try await WritebacksRepository.record(
                [NewWriteback(request: request, eventID: "req-1", connector: "opendental", officeID: "office-12")], now: bookedAt, on: tx)
        }
        return (key, booked)
    }

    @Test func aRefusedBookingIsToldItCouldNotBeConfirmedWithFreshOpenings() async throws {
        let d = try await Real.Desk()
        let (_, booked) = try await bookedCase(d)
        let refusedAt = Real.now.addingTimeInterval(900)
        try await d.pool.withTransaction { tx in
            let c = try #require(try await WritebacksRepository.open(organizationID: "org-1", requestID: "req-1", on: tx))
            try await WritebackOutcome.refused(
                c, reason: "Open Dental refused the appointment (HTTP 400): overlap", source: "opendental/office-12", topics: TopicNames(),
                now: refusedAt, on: tx)
        }
        #expect(try await d.count("SELECT count(*) FROM plans WHERE plan_id = 'implant' AND status = 'escalated'") == 1)
        #expect(try await d.count("SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'implant' AND status = 'open' AND urgent") == 1)
        let before = try await d.messages().count

        let worker = EscalationWorker(
            conninfo: "unused", pool: d.pool, offers: d.offer.planner, clock: ManualClock(refusedAt), workerID: "w1", logger: testLogger)
        #expect(try await worker.fireOnce() == 1)

        let messages = try await d.messages()
        try #require(messages.count == before + 1)
        let m = try PatientMessage(data: try #require(messages.last).data)
        let openings = m.openings ?? []
        #expect(m.kind == .openingWithdrawn)
        #expect(m.body.contains("could not be confirmed"))
        #expect(openings.count == 3)
        // The refused time is not offered again (the PMS said no to it); the new openings are held.
        #expect(!openings.contains { Int64($0.start.date.timeIntervalSince1970) == booked })
        #expect(try await d.holds("implant").count == 3)
        #expect(try await d.count("SELECT count(*) FROM offers WHERE plan_id = 'implant' AND kind = 'reoffer'") == 1)
        #expect(try await d.count("SELECT count(*) FROM plan_events WHERE plan_id = 'implant' AND kind = 'reoffered_after_refusal'") == 1)
        // The coordinator's task stays: the patient may call rather than book.
        #expect(try await d.count("SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'implant' AND status = 'open'") == 1)
        #expect(try await worker.fireOnce() == 0)
        await d.close()
    }
}
