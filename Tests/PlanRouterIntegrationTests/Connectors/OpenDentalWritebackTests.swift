import Foundation
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterWorkers
import Testing

@testable import PlanRouterConnectors

/// pms.appointment-requests written back into the emulated Open Dental: through the real
/// broker (mock cluster), the consumer loop's inbox, PostgreSQL and HTTP.
@Suite(.serialized) struct OpenDentalWritebackTests {
    struct Booked {
        var request: AppointmentRequest
        var event: CloudEvent
    }

    /// A case booked through PlanRouter (plan `booked`, its booking reservation active) and the request the booking published.
    func booked(_ f: OpenDentalFixture, _ a: OpenDentalFixture.Office, patient: Int64) async throws -> Booked {
        let plan = "office-a-tp-900"
        let start = RFC3339.parse("2026-12-02T14:00:00Z")!
        try await f.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', $1, 'loc-a', $2, $3, $4, 'chair', 156050, '{"first_name": "Ann", "sms_consent": true}', 'booked', 'test', 'e-1', $4, $4)
                """, plan, a.office.patientID(patient), a.office.providerID(a.provider), OpenDentalFixture.now.addingTimeInterval(-3600))
            _ = try await conn.execute(
                """
                INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                          patient_id, created_at)
                VALUES ('loc-a', $1, $2, tstzrange($3, $4), tstzrange($3, $4), 'booking', 'org-1', $5, $6, $3)
                """, a.office.providerID(a.provider), a.office.operatoryID(a.operatory), start, start.addingTimeInterval(3600), plan,
                a.office.patientID(patient))
        }
        let request = AppointmentRequest(
            requestID: "req-1", organizationID: "org-1", locationID: "loc-a", planID: plan, patientID: a.office.patientID(patient),
            providerID: a.office.providerID(a.provider), operatoryID: a.office.operatoryID(a.operatory),
            start: OffsetDateTime(start, in: OpenDentalFixture.newYork),
            end: OffsetDateTime(start.addingTimeInterval(3600), in: OpenDentalFixture.newYork),
            procedureCodes: ["D2740", "D2950"], bookedVia: .link, bookedAt: OpenDentalFixture.now)
        return Booked(
            request: request,
            event: CloudEvent(id: "req-1", source: "planrouter/booking", time: OpenDentalFixture.now, subject: plan, data: request))
    }

    /// Publishes the request twice (a redelivery) and runs the write-back consumer until it has seen both.
    func consume(_ h: PipelineHarness, _ b: Booked, offices: [OpenDentalOffice]) async throws {
        try await h.publish(events: [b.event.json, b.event.json], topic: h.topics[.appointmentRequests])
        let worker = ConsumerWorker(
            consumer: try h.consumer(group: "writeback", topics: [h.topics[.appointmentRequests]]), pool: h.pool,
            handler: WritebackHandler(consumerName: "writeback", offices: offices), clock: WallClock(), logger: testLogger)
        let running = Running { try await worker.run() }
        try await eventually("both deliveries consumed") { worker.stats.applied + worker.stats.deduplicated == 2 }
        await running.stop()
    }

    func writer(_ f: OpenDentalFixture, _ a: OpenDentalFixture.Office, base: String) -> WritebackWorker {
        WritebackWorker(
            offices: [a.office], clients: [a.office.id: f.client(a, base: base)], pool: f.pool, clock: f.clock,
            health: ConnectorHealth(telemetry: nil), logger: testLogger)
    }

    @Test func aRequestDeliveredTwiceWhoseFirstResponseIsLostMakesOneAppointment() async throws {
        let h = try await PipelineHarness()
        let f = try await OpenDentalFixture(pool: h.pool)
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, _, procs) = try f.presentCrown(a)
        let b = try await booked(f, a, patient: pat)
        try await consume(h, b, offices: [a.office])
        #expect(try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'pending'") == 1)

        // Open Dental commits the appointment, then the answer is lost (a gateway error after the write).
        f.emulator.inject(.init(status: 504, customerKey: a.key, method: "POST", pathPrefix: "/appointments", afterCommit: true))
        try await f.withServer { (base: String) async throws in
            let w = writer(f, a, base: base)
            try await eventually("written back") {
                try await w.runOnce()
                return try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'written'") == 1
            }
            // The appointment the poller then sees is the same event: not published twice.
            #expect(try await f.poller(a, base: base).pollChanges().events == 0)
        }
        let made = f.emulator.scheduledAppointments(a.key)
        try #require(made.count == 1)
        #expect(made[0].note.contains("PlanRouter booking req-1"))
        #expect(LocalTimestamp(made[0].aptDateTime, in: OpenDentalFixture.newYork).description == "2026-12-02 09:00:00")
        #expect(made[0].pattern == String(repeating: "X", count: 12))
        #expect(procs.allSatisfy { f.emulator.office(a.key)?.procedures[$0]?.aptNum == made[0].aptNum })
        let changed = try await f.outbox("appointment.changed").compactMap { $0["data"] }
        try #require(changed.count == 1)
        #expect(changed[0]["appointment_id"]?.stringValue == "office-a-apt-\(made[0].aptNum)")
        #expect(changed[0]["plan_id"]?.stringValue == "office-a-tp-900")
        #expect(try await f.count("SELECT count(*)::int8 FROM plan_events WHERE kind = 'in_pms'") == 1)
        await h.close()
    }

    /// The patient moved the booking (reschedule link): the second request names the first, and the write-back
    /// moves the appointment the first one made (`PUT /appointments/{AptNum}`) instead of making a second one.
    @Test func aMovedBookingMovesItsAppointmentInOpenDental() async throws {
        let h = try await PipelineHarness()
        let f = try await OpenDentalFixture(pool: h.pool)
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, _, _) = try f.presentCrown(a)
        let b = try await booked(f, a, patient: pat)
        var moved = b.request
        moved.requestID = "req-2"
        moved.replacesRequestID = "req-1"
        let newStart = RFC3339.parse("2026-12-03T15:00:00Z")!
        moved.start = OffsetDateTime(newStart, in: OpenDentalFixture.newYork)
        moved.end = OffsetDateTime(newStart.addingTimeInterval(5400), in: OpenDentalFixture.newYork)
        let movedEvent = CloudEvent(
            id: "req-2", source: "planrouter/booking", time: OpenDentalFixture.now, subject: moved.planID, data: moved)
        // Both requests arrive in one batch: the move waits for the appointment it moves.
        try await h.publish(events: [b.event.json, movedEvent.json], topic: h.topics[.appointmentRequests])
        let worker = ConsumerWorker(
            consumer: try h.consumer(group: "writeback", topics: [h.topics[.appointmentRequests]]), pool: h.pool,
            handler: WritebackHandler(consumerName: "writeback", offices: [a.office]), clock: WallClock(), logger: testLogger)
        let running = Running { try await worker.run() }
        try await eventually("both requests consumed") { worker.stats.applied == 2 }
        await running.stop()
        try await f.withServer { (base: String) async throws in
            let w = writer(f, a, base: base)
            try await eventually("both written back") {
                try await w.runOnce()
                return try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'written'") == 2
            }
        }
        let made = f.emulator.scheduledAppointments(a.key)
        try #require(made.count == 1)
        #expect(made[0].note.contains("PlanRouter booking req-1"))
        #expect(LocalTimestamp(made[0].aptDateTime, in: OpenDentalFixture.newYork).description == "2026-12-03 10:00:00")
        #expect(made[0].pattern == String(repeating: "X", count: 18))
        #expect(try await f.count("SELECT count(DISTINCT pms_appointment_id)::int8 FROM pms_writebacks") == 1)
        await h.close()
    }

    @Test func aRefusalReleasesTheBookingAndHandsTheCaseToACoordinator() async throws {
        let h = try await PipelineHarness()
        let f = try await OpenDentalFixture(pool: h.pool)
        let a = try f.addOffice("office-a", location: "loc-a")
        let (pat, _, _) = try f.presentCrown(a)
        let b = try await booked(f, a, patient: pat)
        try f.emulator.archivePatient(a.key, patNum: pat)
        try await consume(h, b, offices: [a.office])
        try await f.withServer { (base: String) async throws in
            #expect(try await writer(f, a, base: base).runOnce() == 1)
        }
        #expect(f.emulator.scheduledAppointments(a.key).isEmpty)
        #expect(try await f.count("SELECT count(*)::int8 FROM pms_writebacks WHERE status = 'refused' AND reason LIKE '%Archived%'") == 1)
        #expect(try await f.count("SELECT count(*)::int8 FROM reservations WHERE kind = 'booking' AND active") == 0)
        #expect(try await f.count("SELECT count(*)::int8 FROM plans WHERE status = 'escalated'") == 1)
        #expect(
            try await f.count(
                "SELECT count(*)::int8 FROM coordinator_tasks WHERE status = 'open' AND urgent AND reason LIKE '%could not be confirmed%'")
                == 1)
        #expect(try await f.outbox("coordinator.tasks").count == 1)
        await h.close()
    }
}
