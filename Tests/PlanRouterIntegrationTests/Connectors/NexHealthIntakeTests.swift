import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import Testing

@testable import PlanRouterConnectors

/// NexHealth's signed webhooks on the public surface, recorded once, and the connector's
/// intake turning them into events (real PostgreSQL, the emulator over HTTP).
@Suite(.serialized) struct NexHealthIntakeTests {
    static func appointmentBody(id: Int64 = 7, patient: JSONValue = .int(5), event: String = "appointment_created") -> JSONValue {
        .object([
            "subdomain": "bright", "event_name": .string(event), "resource_type": "Appointment",
            "data": .object([
                "appointments": .array([
                    .object([
                        "id": .int(id), "patient_id": patient, "provider_id": 3, "operatory_id": 4, "location_id": 21,
                        "start_time": "2026-12-03T15:00:00Z", "end_time": "2026-12-03T16:00:00Z", "cancelled": false,
                        "updated_at": "2026-12-01T14:59:00Z", "note": "",
                    ])
                ])
            ]),
        ])
    }

    @Test func aSignedDeliveryIsRecordedOnceAndItsReplayIsANoOp() async throws {
        let f = try await NexHealthFixture()
        let router = Router(context: BasicRequestContext.self)
        f.webhook.register(on: router)
        let (body, headers) = NexHealthFixture.signed(Self.appointmentBody())
        try await Application(router: router).test(.router) { client in
            for _ in 0..<2 {
                let r = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
                #expect(r.status == .ok)
            }
        }
        #expect(try await f.count("SELECT count(*)::int8 FROM nexhealth_deliveries WHERE organization_id = 'org-1'") == 1)
        await f.close()
    }

    @Test func aTamperedWronglySignedOrStaleDeliveryIsRefusedAndRecordsNothing() async throws {
        let f = try await NexHealthFixture()
        let router = Router(context: BasicRequestContext.self)
        f.webhook.register(on: router)
        let (body, headers) = NexHealthFixture.signed(Self.appointmentBody())
        var tampered = body
        tampered[tampered.count - 3] = UInt8(ascii: "9")
        let (_, wrongKey) = NexHealthFixture.signed(Self.appointmentBody(), secret: "not-the-secret")
        let (staleBody, stale) = NexHealthFixture.signed(Self.appointmentBody(), at: NexHealthFixture.now.addingTimeInterval(-301))
        var stripped = headers
        stripped[.init(NexHealthSignature.signatureHeader)!] = nil
        let (tamperedBody, unsigned) = (tampered, stripped)
        try await Application(router: router).test(.router) { client in
            let a = try await client.execute(
                uri: NexHealthWebhook.path, method: .post, headers: headers, body: ByteBuffer(bytes: tamperedBody))
            #expect(a.status == .forbidden)
            let b = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: wrongKey, body: ByteBuffer(bytes: body))
            #expect(b.status == .forbidden)
            let c = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: stale, body: ByteBuffer(bytes: staleBody))
            #expect(c.status == .unauthorized)
            let d = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: unsigned, body: ByteBuffer(bytes: body))
            #expect(d.status == .forbidden)
        }
        #expect(try await f.count("SELECT count(*)::int8 FROM nexhealth_deliveries") == 0)
        #expect(try await f.count("SELECT count(*)::int8 FROM outbox") == 0)
        await f.close()
    }

    @Test func anAcceptedPlanDeliveredThinBecomesPlanAcceptedReadFromTheAPI() async throws {
        let f = try await NexHealthFixture()
        try await f.withServers { (base: String) async throws in
            let patient = f.emulator.addPatient(
                firstName: "Ann", lastName: "Secretlast", cell: "(503) 555-0101", email: "ann@example.com", locationID: 21)
            let plan = await f.emulator.acceptPlan(
                subdomain: "bright", patientID: patient, providerID: 3, locationID: 21,
                procedures: [
                    .init(code: "D2740", name: "crown - porcelain/ceramic", fee: 1250),
                    .init(code: "D2950", name: "core buildup", fee: 310.5),
                ],
                thin: true)
            #expect(f.emulator.delivered == ["treatment_plan_updated"])
            // The acceptance delivered a second time in another shape (a second subscription): one plan.accepted.
            let (body, headers) = NexHealthFixture.signed(
                .object([
                    "subdomain": "bright", "event_name": "treatment_plan_updated",
                    "data": .object(["treatment_plan": .object(["id": .int(plan), "patient_id": .int(patient), "status": "accepted"])]),
                ]))
            let router = Router(context: BasicRequestContext.self)
            f.webhook.register(on: router)
            try await Application(router: router).test(.router) { client in
                _ = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            }
            let intake = f.intake(base: base)
            #expect(try await intake.runOnce() == 2)
            #expect(try await intake.runOnce() == 0)
        }
        let accepted = try await f.outbox("plan.accepted")
        try #require(accepted.count == 1)
        let data = try #require(accepted[0]["data"])
        #expect(accepted[0]["id"]?.stringValue?.hasSuffix("-accepted") == true)
        #expect(data["location_id"]?.stringValue == "loc-a")
        #expect(data["provider_id"]?.stringValue == "bright-prov-3")
        #expect(data["total_fee_cents"]?.int64Value == 156_050)
        #expect(data["procedures"]?.arrayValue?.count == 2)
        #expect(data["patient"]?["phone"]?.stringValue == "+15035550101")
        #expect(try await f.count("SELECT count(*)::int8 FROM nexhealth_deliveries WHERE status = 'processed' AND body = ''") == 2)
        await f.close()
    }

    @Test func anAppointmentCreatedInThePMSBecomesAppointmentChanged() async throws {
        let f = try await NexHealthFixture()
        try await f.withServers { (base: String) async throws in
            let patient = f.emulator.addPatient(firstName: "Bo", lastName: "X", cell: nil, email: nil, locationID: 21)
            let id = await f.emulator.addAppointment(
                subdomain: "bright", patientID: patient, providerID: 3, operatoryID: 4, locationID: 21,
                start: NexHealthFixture.now.addingTimeInterval(86_400), minutes: 60)
            #expect(try await f.intake(base: base).runOnce() == 1)
            let changed = try await f.outbox("appointment.changed")
            try #require(changed.count == 1)
            #expect(changed[0]["data"]?["appointment_id"]?.stringValue == "bright-apt-\(id)")
            #expect(changed[0]["data"]?["status"]?.stringValue == "scheduled")
            #expect(changed[0]["data"]?["operatory_id"]?.stringValue == "bright-op-4")
            #expect(changed[0]["data"]?["length_minutes"]?.intValue == 60)
        }
        await f.close()
    }

    @Test func aMalformedDeliveryIsDeadLetteredWithAReasonAndNoPatientData() async throws {
        let f = try await NexHealthFixture()
        let router = Router(context: BasicRequestContext.self)
        f.webhook.register(on: router)
        let (body, headers) = NexHealthFixture.signed(Self.appointmentBody(patient: "Ann Secretlast"))
        try await Application(router: router).test(.router) { client in
            let r = try await client.execute(uri: NexHealthWebhook.path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(r.status == .ok)
        }
        #expect(try await f.intake(base: "http://127.0.0.1:1").runOnce() == 1)
        #expect(
            try await f.count("SELECT count(*)::int8 FROM nexhealth_deliveries WHERE status = 'dead' AND reason LIKE '%no patient_id%'")
                == 1)
        let letters = try await f.pool.withConnection { conn in
            try await conn.query("SELECT convert_from(payload, 'UTF8') FROM outbox WHERE topic = 'appointment.changed.dlq'").map {
                try $0.decode(0, as: String.self)
            }
        }
        try #require(letters.count == 1)
        #expect(!letters[0].contains("Secretlast"))
        #expect(try await f.outbox("appointment.changed").isEmpty)
        await f.close()
    }
}
