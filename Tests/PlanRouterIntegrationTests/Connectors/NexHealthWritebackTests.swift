import Foundation
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import Testing

@testable import PlanRouterConnectors

/// pms.appointment-requests of NexHealth locations written back through the emulated NexHealth:
/// the consumer loop's inbox (real broker), POST /appointments (201, asynchronous), the signed
/// insertion webhook, and the intake closing the write-back.
@Suite(.serialized) struct NexHealthWritebackTests {
    /// A case booked through PlanRouter (plan `booked`, its booking reservation active) and its request.
    func booked(_ f: NexHealthFixture, patient: Int64) async throws -> CloudEvent {
        let plan = "bright-tp-900"
        let start = RFC3339.parse("2026-12-02T14:00:00Z")!
        let i = f.institution
        try await f.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', $1, 'loc-a', $2, $3, $4, 'chair', 156050, '{"first_name": "Ann", "sms_consent": true}', 'booked', 'test', 'e-1', $4, $4)
                """, plan, i.patientID(patient), i.providerID(3), NexHealthFixture.now.addingTimeInterval(-3600))
            _ = try await conn.execute(
                """
                INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                          patient_id, created_at)
                VALUES ('loc-a', $1, $2, tstzrange($3, $4), tstzrange($3, $4), 'booking', 'org-1', $5, $6, $3)
                """, i.providerID(3), i.operatoryID(4), start, start.addingTimeInterval(3600), plan, i.patientID(patient))
        }
        let zone = TimeZone(identifier: "America/New_York")!
        let request = AppointmentRequest(
            requestID: "req-1", organizationID: "org-1", locationID: "loc-a", planID: plan, patientID: i.patientID(patient),
            providerID: i.providerID(3), operatoryID: i.operatoryID(4), start: OffsetDateTime(start, in: zone),
            end: OffsetDateTime(start.addingTimeInterval(3600), in: zone), procedureCodes: ["D2740"], bookedVia: .link,
            bookedAt: NexHealthFixture.now)
        return CloudEvent(id: "req-1", source: "planrouter/booking", time: NexHealthFixture.now, subject: plan, data: request)
    }

    /// Publishes the request twice (a redelivery) and runs the write-back consumer until it has seen both.
    func consume(_ h: PipelineHarness, _ f: NexHealthFixture, _ event: CloudEvent) async throws {
        try await h.publish(events: [event.json, event.json], topic: h.topics[.appointmentRequests])
        let worker = ConsumerWorker(
            consumer: try h.consumer(group: "writeback-nh", topics: [h.topics[.appointmentRequests]]), pool: h.pool,
            handler: WritebackHandler(consumerName: "writeback-nh", nexhealth: f.account), clock: WallClock(), logger: testLogger)
        let running = Running { try await worker.run() }
        try await eventually("both deliveries consumed") { worker.stats.applied + worker.stats.deduplicated == 2 }
        await running.stop()
    }

    @Test func anAcceptedInsertionIsWrittenOnceAndPublishedWithThePMSAppointment() async throws {
        let h = try await PipelineHarness()
        let f = try await NexHealthFixture(pool: h.pool)
        let patient = f.emulator.addPatient(firstName: "Ann", lastName: "X", cell: nil, email: nil, locationID: 21)
        try await consume(h, f, try await booked(f, patient: patient))
        #expect(try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'pending' AND connector = 'nexhealth'") == 1)
        try await f.withServers { (base: String) async throws in
            // The first answer is a 503: the claim is given back, the retry looks first and posts once.
            f.emulator.inject(.init(status: 503, method: "POST", pathPrefix: "/appointments"))
            let w = f.writer(base: base)
            #expect(try await w.runOnce() == 1)
            #expect(try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'pending'") == 1)
            try await eventually("submitted") {
                try await w.runOnce()
                return try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'submitted'") == 1
            }
            await f.emulator.processInsertions(subdomain: "bright")
            #expect(f.emulator.delivered == ["appointment_insertion.complete"])
            #expect(try await f.intake(base: base).runOnce() == 1)
        }
        let made = f.emulator.writtenAppointments
        try #require(made.count == 1)
        let id = try #require(made[0]["id"]?.int64Value)
        #expect(
            try await f.count(
                "SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'written' AND pms_appointment_id = 'bright-apt-\(id)'") == 1)
        let changed = try await f.outbox("appointment.changed").compactMap { $0["data"] }
        try #require(changed.count == 1)
        #expect(changed[0]["appointment_id"]?.stringValue == "bright-apt-\(id)")
        #expect(changed[0]["plan_id"]?.stringValue == "bright-tp-900")
        #expect(try await f.count("SELECT count(*)::int8 FROM plan_events WHERE kind = 'in_pms'") == 1)
        await h.close()
    }

    @Test func aFailedInsertionReleasesTheBookingAndHandsTheCaseToACoordinator() async throws {
        let h = try await PipelineHarness()
        let f = try await NexHealthFixture(pool: h.pool)
        let patient = f.emulator.addPatient(firstName: "Ann", lastName: "X", cell: nil, email: nil, locationID: 21)
        f.emulator.refuseAppointments(forPatient: patient)
        try await consume(h, f, try await booked(f, patient: patient))
        try await f.withServers { (base: String) async throws in
            #expect(try await f.writer(base: base).runOnce() == 1)
            await f.emulator.processInsertions(subdomain: "bright")
            #expect(f.emulator.delivered == ["appointment_insertion.failed"])
            #expect(try await f.intake(base: base).runOnce() == 1)
        }
        #expect(f.emulator.writtenAppointments.isEmpty)
        #expect(
            try await f.count(
                "SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'refused' AND reason LIKE '%appointment_insertion.failed%'") == 1)
        #expect(try await f.count("SELECT count(*)::int8 FROM reservations WHERE kind = 'booking' AND active") == 0)
        #expect(try await f.count("SELECT count(*)::int8 FROM plans WHERE status = 'escalated'") == 1)
        #expect(
            try await f.count(
                "SELECT count(*)::int8 FROM coordinator_tasks WHERE status = 'open' AND urgent AND reason LIKE '%could not be confirmed%'")
                == 1)
        await h.close()
    }

    /// The patient moved the booking (reschedule link): NexHealth cannot move an appointment, so the write-back
    /// makes the new one and cancels the old one with PATCH in the same write-back. A PATCH answered 503 is
    /// retried without a second new appointment; the old appointment's cancellation webhook does not re-open the case.
    @Test func aMovedBookingMakesTheNewAppointmentAndCancelsTheOldOneOnce() async throws {
        let h = try await PipelineHarness()
        let f = try await NexHealthFixture(pool: h.pool)
        let patient = f.emulator.addPatient(firstName: "Ann", lastName: "X", cell: nil, email: nil, locationID: 21)
        let first = try await booked(f, patient: patient)
        try await consume(h, f, first)
        try await f.withServers { (base: String) async throws in
            #expect(try await f.writer(base: base).runOnce() == 1)
            await f.emulator.processInsertions(subdomain: "bright")
            #expect(try await f.intake(base: base).runOnce() == 1)
        }
        let old = try #require(f.emulator.writtenAppointments.first?["id"]?.int64Value)

        var moved = try first.decode(AppointmentRequest.self)
        moved.requestID = "req-2"
        moved.replacesRequestID = "req-1"
        moved.start = OffsetDateTime(moved.start.date.addingTimeInterval(86_400), in: TimeZone(identifier: "America/New_York")!)
        moved.end = OffsetDateTime(moved.end.date.addingTimeInterval(86_400), in: TimeZone(identifier: "America/New_York")!)
        try await consume(
            h, f, CloudEvent(id: "req-2", source: "planrouter/booking", time: NexHealthFixture.now, subject: moved.planID, data: moved))
        try await f.withServers { (base: String) async throws in
            // A minute later: the cancellation's `updated_at` differs from the insertion's (NexHealth stamps each change).
            f.emulator.setNow(NexHealthFixture.now.addingTimeInterval(60))
            f.emulator.inject(.init(status: 503, method: "PATCH", pathPrefix: "/appointments"))
            let w = f.writer(base: base)
            try await eventually("submitted") {
                try await w.runOnce()
                return try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE request_id = 'req-2' AND status = 'submitted'")
                    == 1
            }
            await f.emulator.processInsertions(subdomain: "bright")
            #expect(f.emulator.delivered.suffix(2) == ["appointment_insertion.complete", "appointment_updated"])
            try await eventually("both webhooks worked off") {
                _ = try await f.intake(base: base).runOnce()
                let written = try await f.count(
                    "SELECT count(*)::int8 FROM pms_writebacks WHERE request_id = 'req-2' AND status = 'written'")
                let changed = try await f.outbox("appointment.changed").count
                return written == 1 && changed == 3
            }
        }
        // One new appointment, the old one cancelled by one effective PATCH.
        let made = f.emulator.writtenAppointments
        #expect(made.count == 2)
        #expect(made.first { $0["id"]?.int64Value == old }?["cancelled"] == .bool(true))
        let new = try #require(made.first { $0["id"]?.int64Value != old })
        #expect(new["cancelled"] == .bool(false))
        #expect(f.emulator.cancellations == 1)
        let changed = try await f.outbox("appointment.changed").compactMap { $0["data"] }
        #expect(changed.contains { $0["appointment_id"]?.stringValue == "bright-apt-\(old)" && $0["status"] == "cancelled" })
        // The old appointment no longer stands for the case (its cancellation re-opens nothing); the new one does.
        let byOld = try await h.pool.withConnection {
            try await PlansRepository.bookedByAppointment(organizationID: "org-1", appointmentID: "bright-apt-\(old)", on: $0)
        }
        #expect(byOld == nil)
        let byNew = try await h.pool.withConnection {
            try await PlansRepository.bookedByAppointment(
                organizationID: "org-1", appointmentID: "bright-apt-\(new["id"]?.int64Value ?? 0)", on: $0)
        }
        #expect(byNew?.planID == "bright-tp-900")
        await h.close()
    }
}
