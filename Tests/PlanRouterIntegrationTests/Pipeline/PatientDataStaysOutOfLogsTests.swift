import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// PHI discipline (issue 13): a patient's name, phone and email reach the outgoing message and
/// nothing else a platform team reads: not the logs (at trace level), not the metrics, not the
/// dead-letter reasons. Marker values make any leak findable.
@Suite struct PatientDataStaysOutOfLogsTests {
    static let name = "Quillonzeb"
    static let phone = "+15555550917"
    static let email = "quillonzeb.marker@example.com"
    static var markers: [String] { [name, phone, String(phone.dropFirst(2)), email] }

    func leaks(_ text: String) -> [String] { Self.markers.filter { text.contains($0) } }

    func patientEvent(plan: String, email: String = Self.email, phone: String = Self.phone) -> JSONValue {
        var e = TestEvents.acceptedWith(plan: plan, codes: [("D2740", 135_000)]).objectValue!
        var d = e["data"]!.objectValue!
        var patient = d["patient"]!.objectValue!
        patient["first_name"] = .string(Self.name)
        patient["phone"] = .string(phone)
        patient["email"] = .string(email)
        d["patient"] = .object(patient)
        e["data"] = .object(d)
        return .object(e)
    }

    @Test func namesPhonesAndEmailsReachTheMessageButNoLogMetricOrDeadLetter() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [
            patientEvent(plan: "marked"),
            // Invalid: the dead letter must say what is wrong without repeating the value.
            patientEvent(plan: "bad-email", email: "\(Self.name) <\(Self.email)>"),
            patientEvent(plan: "bad-phone", phone: "\(Self.phone) ext \(Self.name)"),
        ])
        let (logger, logs) = CapturingLogHandler.logger()
        let clock = ManualClock(OfferWorkerTests.now)
        let telemetry = (classifier: WorkerTelemetry(worker: "classifier"), offer: WorkerTelemetry(worker: "offer"))
        let classifier = ConsumerWorker(
            consumer: try h.consumer(group: "classifier", topics: [h.topics[.planAccepted], h.topics[.planChanged]]), pool: h.pool,
            handler: ClassifierHandler(consumerName: "classifier", settings: PipelineHarness.anyAcceptanceTime), clock: clock,
            telemetry: telemetry.classifier, logger: logger)
        let offer = ConsumerWorker(
            consumer: try h.consumer(
                group: "offer", topics: [h.topics[.planClassified], h.topics[.scheduleChanged], h.topics[.appointmentChanged]]),
            pool: h.pool, handler: OfferHandler(consumerName: "offer", settings: h.offerSettings), clock: clock,
            telemetry: telemetry.offer, logger: logger)
        let relayTelemetry = WorkerTelemetry(worker: "relay")
        let relay = OutboxRelay(
            conninfo: h.databaseURL, producer: try h.producer(OutboxRelay.producerDefaults), clock: WallClock(),
            settings: RelaySettings(batchSize: 500, idleWait: .milliseconds(100)), telemetry: relayTelemetry, logger: logger)
        let runs = [Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() }]
        try await eventually("offer message and two dead letters published") {
            let messages = try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL")
            let letters = try await h.count("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlq' AND published_at IS NOT NULL")
            return messages == 1 && letters == 2
        }
        for r in runs { await r.stop() }

        // The message does carry the patient's data: the markers were really processed.
        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1)
        let message = String(decoding: messages[0].value, as: UTF8.self)
        #expect(message.contains(Self.name) && message.contains(Self.phone))

        // Nothing else does.
        let logText = logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
        #expect(logs.all.count > 10, "the workers logged too little for this test to mean anything")
        #expect(leaks(logText).isEmpty, "patient data in the logs: \(leaks(logText))")
        let metrics = telemetry.classifier.text() + telemetry.offer.text() + relayTelemetry.text()
        #expect(leaks(metrics).isEmpty, "patient data in the metrics: \(leaks(metrics))")
        let letters = try await InputContractTests.deadLetters(h)
        #expect(letters.count == 2)
        for l in letters {
            #expect(l.kind == "invalid_data")
            #expect(leaks(l.reason).isEmpty, "patient data in a dead-letter reason: \(l.reason)")
        }
        await h.close()
    }
}
