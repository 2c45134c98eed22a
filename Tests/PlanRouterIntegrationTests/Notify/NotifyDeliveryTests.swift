import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterMessaging
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Runs `body` while `services` run, and stops them whatever `body` does (a failed wait must not
/// leave a consumer polling a broker the fixture already closed).
func whileRunning(_ services: [Running], _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        for s in services { await s.stop() }
        throw error
    }
    for s in services { await s.stop() }
}

func withNotifyFixture(
    smtp: SMTPSink? = nil, clock: ManualClock? = nil, _ body: (NotifyFixture) async throws -> Void
) async throws {
    let f = try await NotifyFixture.start(smtp: smtp, clock: clock)
    do {
        try await body(f)
    } catch {
        await f.close()
        throw error
    }
    await f.close()
}

/// `planrouter worker notify` against PostgreSQL, the mock broker, the Twilio emulator over
/// HTTP, our webhooks over HTTP and a real SMTP server.
@Suite struct NotifyDeliveryTests {
    @Test func aMessageIsDeliveredOnceAndTheCallbackMarksItDelivered() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            let m = NotifyFixture.message("msg-1", plan: "plan-1")
            try await f.harness.publish(events: [NotifyFixture.event(m)], topic: f.harness.topics[.patientMessages])
            let consumer = try f.consumer()
            let sender = f.sender()
            try await whileRunning([Running { try await consumer.run() }, Running { try await sender.run() }]) {
                try await eventually("delivered (status callback applied)", timeout: .seconds(120)) {
                    try await f.delivery("msg-1").status == "delivered"
                }
            }
            let inbox = await f.emulator.state.inbox(NotifyFixture.patientPhone)
            #expect(inbox.count == 1)
            // The first text to the number carries the opt-out line.
            #expect(inbox.first?.body.hasSuffix(SMSWording.optOutLine) == true)
            #expect(try await f.delivery("msg-1").providerID == inbox.first?.sid)
            #expect(try await f.harness.count("SELECT count(*) FROM plan_events WHERE kind = 'message_sent'") == 1)
        }
    }

    /// Issue 18 point 3: the same message re-published (same event id after a relay replay,
    /// and a new event id for the same message id) costs one provider call.
    @Test func republishedMessagesMakeOneProviderCall() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.plan("plan-2")
            let m = NotifyFixture.message("msg-1", plan: "plan-1")
            let original = NotifyFixture.event(m, id: "evt-1")
            let sentinel = NotifyFixture.event(NotifyFixture.message("msg-2", plan: "plan-2", to: "+15555550999"))
            // Same key, one partition: the sentinel is read after every duplicate.
            try await f.harness.publish(
                events: [
                    original, original, NotifyFixture.event(m, id: "evt-1b"), original, NotifyFixture.event(m, id: "evt-1c"), sentinel,
                ],
                topic: f.harness.topics[.patientMessages])
            let consumer = try f.consumer()
            try await whileRunning([Running { try await consumer.run() }]) {
                try await eventually("sentinel recorded", timeout: .seconds(120)) {
                    try await f.harness.count("SELECT count(*) FROM message_deliveries WHERE message_id = 'msg-2'") == 1
                }
            }
            let sender = f.sender()
            while try await sender.sendDue() > 0 {}
            #expect(try await f.harness.count("SELECT count(*) FROM message_deliveries") == 2)
            #expect(await f.emulator.state.createCalls == 2)
            #expect(await f.emulator.state.inbox(NotifyFixture.patientPhone).count == 1)
            // A second sender finds nothing left to do.
            #expect(try await f.sender().sendDue() == 0)
        }
    }

    /// A sender died after claiming, before its provider call: the next claim (after the
    /// lease) asks Twilio, finds nothing, and sends once.
    @Test func claimedButNeverSentIsSentOnceAfterTheLease() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1")])
            try await f.claimAsDeadSender()
            try await f.sender().sendDue()
            #expect(await f.emulator.state.createCalls == 1)
            let d = try await f.delivery("msg-1")
            #expect(d.status == "sent" || d.status == "delivered")
            #expect(d.attempts == 2)
        }
    }

    /// A sender died after Twilio accepted the message, before recording it: the next claim
    /// finds the message at Twilio and does not send it again.
    @Test func acceptedButNotRecordedIsNotSentAgain() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            let m = NotifyFixture.message("msg-1", plan: "plan-1")
            try await f.record([m])
            let claimed = try await f.claimAsDeadSender()
            // The dead sender's call went through (first text: with the opt-out line). No status
            // callback: nothing but the lookup can tell the next sender.
            var settings = f.configuration.organization("org-1")!.sms!
            settings.statusCallbackURL = nil
            let adapter = TwilioSMSAdapter(settings: settings)
            let outcome = await adapter.send(
                OutgoingMessage(
                    deliveryID: claimed, organizationID: "org-1", messageID: "msg-1", to: m.to, body: SMSWording.firstText(m.body)))
            guard case .accepted(let sid) = outcome else {
                Issue.record("emulator refused: \(outcome)")
                return
            }
            let sender = f.sender()
            try await sender.sendDue()
            #expect(await f.emulator.state.createCalls == 1)
            #expect(try await f.delivery("msg-1").providerID == sid)
            #expect(try await f.delivery("msg-1").attempts == 2)
            #expect(sender.stats.count(channel: "sms", outcome: "found_at_provider") == 1)
            #expect(await f.emulator.state.inbox(NotifyFixture.patientPhone).count == 1)
        }
    }

    @Test func transientProviderErrorsAreRetriedWithBackoff() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1")])
            await f.emulator.state.injectFaults(status: 503, count: 2)
            let sender = f.sender()
            try await sender.sendDue()
            let first = try await f.delivery("msg-1")
            #expect(first.status == "queued" && first.error == "twilio_20500")
            try await whileRunning([Running { try await sender.run() }]) {
                try await eventually("sent after the outage", timeout: .seconds(120)) {
                    ["sent", "delivered"].contains(try await f.delivery("msg-1").status)
                }
            }
            #expect(try await f.delivery("msg-1").attempts == 3)
            #expect(await f.emulator.state.createCalls == 3)
            #expect(await f.emulator.state.inbox(NotifyFixture.patientPhone).count == 1)
        }
    }

    @Test func anInvalidNumberFailsForGoodAndHandsTheFirstOfferToACoordinator() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1", to: "+15005550001")])
            try await f.sender().sendDue()
            let d = try await f.delivery("msg-1")
            #expect(d.status == "failed" && d.error == "twilio_21211")
            #expect(try await f.harness.count("SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'plan-1' AND kind = 'callback'") == 1)
            #expect(try await f.harness.count("SELECT count(*) FROM plans WHERE plan_id = 'plan-1' AND status = 'escalated'") == 1)
            #expect(try await f.harness.count("SELECT count(*) FROM plan_events WHERE kind = 'message_failed'") == 1)
            #expect(try await f.harness.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
            // Final: another round sends nothing.
            #expect(try await f.sender().sendDue() == 0)
            #expect(await f.emulator.state.createCalls == 1)
        }
    }

    @Test func stopOptsTheNumberOutAndTheNextMessageIsNotSent() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            let stop = try await f.emulator.receive(from: NotifyFixture.patientPhone, to: NotifyFixture.sender, body: "Stop")
            #expect(stop.status == 200)
            #expect(try await f.harness.count("SELECT count(*) FROM sms_suppressions WHERE phone = '\(NotifyFixture.patientPhone)'") == 1)
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1")])
            try await f.sender().sendDue()
            #expect(try await f.delivery("msg-1").status == "opted_out")
            #expect(await f.emulator.state.createCalls == 0)
            // No email on file: the first offer goes to a coordinator.
            #expect(try await f.harness.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'callback'") == 1)
            // HELP is answered with the practice; START opts back in.
            let help = try await f.emulator.receive(from: NotifyFixture.patientPhone, to: NotifyFixture.sender, body: "HELP")
            #expect(help.replies.first?.contains("Smile Dental") == true)
            #expect(help.replies.first?.contains("+15555550100") == true)
            _ = try await f.emulator.receive(from: NotifyFixture.patientPhone, to: NotifyFixture.sender, body: "START")
            #expect(try await f.harness.count("SELECT count(*) FROM sms_suppressions") == 0)
        }
    }

    @Test func aTamperedWebhookIsRefused() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            let url = f.webhookBase + "/webhooks/twilio/inbound"
            let params = [
                ("AccountSid", NotifyFixture.account), ("Body", "STOP"), ("From", NotifyFixture.patientPhone), ("To", NotifyFixture.sender),
            ]
            let good = TwilioSignature.sign(url: url, parameters: params, authToken: NotifyFixture.token)
            var tampered = params
            tampered[2] = ("From", "+15555550124")
            #expect(try await Self.post(url, tampered, signature: good) == 403)
            #expect(try await Self.post(url, params, signature: "") == 403)
            #expect(
                try await Self.post(url, params, signature: TwilioSignature.sign(url: url, parameters: params, authToken: "wrong")) == 403)
            #expect(try await f.harness.count("SELECT count(*) FROM sms_suppressions") == 0)
            #expect(try await Self.post(url, params, signature: good) == 200)
            #expect(try await f.harness.count("SELECT count(*) FROM sms_suppressions") == 1)
            // A status callback with a forged signature changes nothing either.
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1", to: "+15555550999")])
            let statusURL = f.webhookBase + "/webhooks/twilio/status?delivery=1&organization=org-1"
            let status = [("AccountSid", NotifyFixture.account), ("MessageSid", "SMforged"), ("MessageStatus", "delivered")]
            #expect(try await Self.post(statusURL, status, signature: good) == 403)
            #expect(try await f.delivery("msg-1").status == "queued")
        }
    }

    @Test func sendAfterIsHonoured() async throws {
        let start = Date(timeIntervalSince1970: 1_796_000_000)
        let clock = ManualClock(start)
        try await withNotifyFixture(clock: clock) { f in
            try await f.plan("plan-1")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1", sendAfter: start.addingTimeInterval(8 * 3600))])
            let sender = f.sender()
            #expect(try await sender.sendDue() == 0)
            clock.advance(by: 8 * 3600 - 1)
            #expect(try await sender.sendDue() == 0)
            #expect(await f.emulator.state.createCalls == 0)
            clock.advance(by: 1)
            #expect(try await sender.sendDue() == 1)
            #expect(await f.emulator.state.createCalls == 1)
        }
    }

    @Test func aCaseBookedBeforeSendTimeIsNotTexted() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1", kind: .nudge)])
            try await f.pool.withTransaction { tx in
                _ = try await PlansRepository.transition(
                    [(PlanKey(organizationID: "org-1", planID: "plan-1"), .booked)], now: Date(), on: tx)
            }
            try await f.sender().sendDue()
            let d = try await f.delivery("msg-1")
            #expect(d.status == "cancelled" && d.error == "case_booked")
            #expect(await f.emulator.state.createCalls == 0)
        }
    }

    @Test func emailGoesThroughARealSMTPServerWithSTARTTLSAndAuth() async throws {
        let smtp = try await SMTPSink.start(startTLS: true, credentials: ("notify", "s3cret"))
        try await withNotifyFixture(smtp: smtp) { f in
            try await f.plan("plan-1")
            let body = "Hello Maria,\n.this line starts with a dot\nBook: https://book.example.com/book/msg-e"
            try await f.record([NotifyFixture.message("msg-e", plan: "plan-1", to: "maria@example.com", channel: .email, body: body)])
            try await f.sender().sendDue()
            let d = try await f.delivery("msg-e")
            #expect(d.status == "sent", "\(d)")
            let received = try smtp.messages()
            #expect(received.count == 1)
            let raw = received.first?.raw ?? ""
            #expect(raw.contains("Subject: Your openings at Smile Dental"))
            #expect(raw.contains("\n.this line starts with a dot"))
            #expect(!raw.contains("\n..this line"))
            #expect(received.first?.envelope["rcpt_tos"]?.arrayValue?.first?.stringValue == "maria@example.com")
            #expect(received.first?.envelope["tls"]?.boolValue == true)
            #expect(received.first?.envelope["authenticated"]?.boolValue == true)
        }
    }

    @Test func anOptedOutNumberFallsBackToEmail() async throws {
        let smtp = try await SMTPSink.start()
        try await withNotifyFixture(smtp: smtp) { f in
            try await f.plan("plan-1", email: "maria@example.com")
            _ = try await f.emulator.receive(from: NotifyFixture.patientPhone, to: NotifyFixture.sender, body: "STOP")
            try await f.record([NotifyFixture.message("msg-1", plan: "plan-1")])
            let sender = f.sender()
            while try await sender.sendDue() > 0 {}
            #expect(try await f.delivery("msg-1").status == "opted_out")
            #expect(try await f.delivery("msg-1:email").status == "sent")
            #expect(try smtp.messages().count == 1)
            #expect(try await f.harness.count("SELECT count(*) FROM coordinator_tasks") == 0)
        }
    }

    static func post(_ url: String, _ params: [(String, String)], signature: String) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "X-Twilio-Signature", value: signature)
        request.body = .bytes(ByteBuffer(string: FormURLEncoding.encode(params)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return response.status.code
    }
}

extension NotifyFixture {
    /// Claims every due delivery as a sender that then dies (its lease already over); returns the last id.
    @discardableResult
    func claimAsDeadSender() async throws -> Int64 {
        let now = try await self.now()
        let claimed = try await pool.withTransaction { tx in
            try await MessageDeliveriesRepository.claim(
                worker: "dead", limit: 100, leaseUntil: now.addingTimeInterval(-1), now: now, on: tx)
        }
        #expect(!claimed.isEmpty)
        return claimed.last?.id ?? 0
    }
}
