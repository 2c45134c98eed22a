import Foundation
import PlanRouterBooking
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterSimulation
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// The demo's patients end to end, as `planrouter simulate` drives them: their texts come out of the
/// notify worker through the Twilio emulator and are read there (`PatientInbox`, not Kafka); they reply
/// through the emulator's signed inbound webhook and pay on the Stripe emulator's checkout page, whose
/// signed webhook confirms the booking. Real PostgreSQL, the mock broker, HTTP on every hop.
@Suite struct SimulatedPatientTests {
    static let account = "ACsimpatient01"
    static let token = "sim-patient-token-0123456789"
    static let sender = "+15555550199"
    static let patient = "+15550001111"  // BookingFixture's patient

    /// The Twilio emulator, our Twilio webhooks (booking replies through `service`) and a notify worker against them.
    struct Phones {
        var emulatorBase: String
        var runs: [Running]

        static func start(_ f: DepositFixture) async throws -> Phones {
            let webhookPort = try NotifyFixture.freePort()
            let webhookBase = "http://127.0.0.1:\(webhookPort)"
            let emulator = TwilioEmulator(
                settings: TwilioEmulatorSettings(
                    accounts: [account: token], senders: [sender], inboundWebhookURL: webhookBase + TwilioWebhooks.inboundPath,
                    inboundAccount: account, callbackDelay: .milliseconds(10)),
                logger: testLogger)
            let emulatorServer = try await NotifyFixture.serve(logger: testLogger) { emulator.register(on: $0) }
            let emulatorBase = "http://127.0.0.1:\(emulatorServer.port)"
            let configuration = MessagingConfiguration(organizations: [
                "org-1": .init(
                    practiceName: "Smile Dental", practicePhone: "+15555550100",
                    sms: .init(
                        accountSID: account, authToken: token, from: sender, apiBaseURL: emulatorBase,
                        statusCallbackURL: webhookBase + TwilioWebhooks.statusPath, ratePerSecond: 1000))
            ])
            let webhooks = try await NotifyFixture.serve(port: webhookPort, logger: testLogger) { router in
                TwilioWebhooks(
                    pool: f.pool, clock: f.clock, configuration: configuration, publicBaseURL: webhookBase, booking: f.booking.service,
                    logger: testLogger
                ).register(on: router)
            }
            let relay = try f.harness.relay()
            let consumer = ConsumerWorker(
                consumer: try f.harness.consumer(group: "notify", topics: [f.harness.topics[.patientMessages]]), pool: f.pool,
                handler: NotifyHandler(consumerName: "notify"), clock: f.clock, logger: testLogger)
            let sender = NotifySender(
                pool: f.pool, adapters: ChannelAdapters(configuration: configuration), clock: f.clock,
                settings: NotifySettings(pollInterval: .milliseconds(20), retryInitial: .milliseconds(20)), logger: testLogger)
            return Phones(
                emulatorBase: emulatorBase,
                runs: [
                    emulatorServer.running, webhooks.running, Running { try await relay.run() }, Running { try await consumer.run() },
                    Running { try await sender.run() },
                ])
        }

        func stop() async { for r in runs.reversed() { await r.stop() } }
    }

    @Test func aTextedPatientRepliesTwoAndPaysTheDepositOnTheEmulatorsCheckoutPage() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let phones = try await Phones.start(f)
        let mailbox = FileManager.default.temporaryDirectory.appendingPathComponent("sim-mail-\(UUID().uuidString.prefix(8))").path
        let inbox = PatientInbox(
            channels: PatientChannels(
                twilioEmulatorURL: phones.emulatorBase, smtpMailbox: mailbox, stripeEmulatorURL: f.emulator.settings.publicBaseURL))

        // The offer text goes out through the notify worker and the Twilio emulator.
        let link = "https://book.example.com/book/\(f.booking.token())"
        let offer = PatientMessage(
            messageID: "offer-p1", organizationID: "org-1", locationID: "loc-12", planID: "p1", patientID: "pat-1", channel: .sms,
            to: Self.patient, kind: .offer, body: "Hi Ann, your treatment is ready to book. Reply 1, 2 or 3, or book here: \(link)",
            link: link)
        try await f.harness.publish(
            [
                CloudEvent(id: "offer-p1", source: "planrouter/offer", time: BookingFixture.now, subject: "p1", data: offer)
                    .serializedBytes()
            ],
            topic: f.harness.topics[.patientMessages])
        var cursor = PatientInbox.Cursor()
        var received: [ReceivedMessage] = []
        try await eventually("the offer text reaches the patient's phone") {
            let (messages, next) = try await inbox.fetch(after: cursor)
            cursor = next
            received += messages
            return !received.isEmpty
        }
        let text = try #require(received.first)
        #expect(text.channel == .sms && text.to == Self.patient && text.from == Self.sender)
        #expect(text.bookingToken == f.booking.token())

        // The patient replies "2": the signed inbound webhook holds the second opening for the deposit.
        let answers = try await PatientPhone.text(from: Self.patient, to: text.from, body: "2", twilioEmulatorURL: phones.emulatorBase)
        #expect(PatientPhone.outcome(ofText: "2", answers: answers) == "reply_provisional")
        // Provisional: the chosen opening stays held until the deposit is paid.
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE id = \(f.booking.holds[1]) AND kind = 'hold' AND active") == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'offered'") == 1)

        // The deposit's checkout link arrives by text too, and the patient pays on the emulator's page.
        try await f.runPayments(until: "deposit recorded") { try await f.count("SELECT count(*) FROM deposits") == 1 }
        #expect(try await f.sessions.createDue() == 1)
        var checkout: String?
        try await eventually("the deposit text reaches the patient's phone") {
            let (messages, next) = try await inbox.fetch(after: cursor)
            cursor = next
            checkout = checkout ?? messages.compactMap(\.checkoutURL).first
            return checkout != nil
        }
        let url = try #require(checkout)
        #expect(url.hasPrefix(f.emulator.settings.publicBaseURL + "/pay/cs_test_"))
        #expect(try await PatientPhone.pay(checkoutURL: url))
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'booked'") == 1)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'") == 1)
        #expect(try await f.count("SELECT count(*) FROM message_deliveries WHERE channel = 'sms' AND provider_id IS NOT NULL") == 2)
        await phones.stop()
        await f.close()
    }

    @Test func aSessionLeftUnpaidExpiresWhenTheEmulatorsBusinessClockPassesItsExpiry() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let sessionID = try await f.provisionalWithSession()
        let url = f.emulator.settings.publicBaseURL + "/pay/" + sessionID
        // The simulator moves the emulator's business time with sim_clock; the 2 h hold passes.
        try await PatientPhone.setPaymentsClock(
            BookingFixture.now.addingTimeInterval(7201), stripeEmulatorURL: f.emulator.settings.publicBaseURL)
        #expect(f.emulator.session(sessionID)?["status"]?.stringValue == "expired")
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'expired'") == 1)
        // Paying now is too late, and changes nothing.
        #expect(try await !PatientPhone.pay(checkoutURL: url))
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 0)
        await f.close()
    }
}
