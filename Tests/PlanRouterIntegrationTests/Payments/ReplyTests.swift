import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import Testing

/// Texts from patients to the practice's number (Twilio's inbound webhook): `1`/`2`/`3` book that
/// opening of the newest open offer through the link's path; anything else becomes a task.
@Suite struct ReplyTests {
    static let account = "ACreply0001"
    static let token = "reply-auth-token-0123456789"
    static let sender = "+15005550006"
    static let patient = "+15550001111"  // BookingFixture's patient
    static let base = "https://book.example.com"

    static func webhooks(_ f: BookingFixture) -> TwilioWebhooks {
        let configuration = MessagingConfiguration(organizations: [
            "org-1": .init(
                practiceName: "Smile Dental", practicePhone: "+15555550100",
                sms: .init(
                    accountSID: account, authToken: token, from: sender, apiBaseURL: "http://unused", statusCallbackURL: nil,
                    ratePerSecond: 1))
        ])
        return TwilioWebhooks(
            pool: f.pool, clock: f.clock, configuration: configuration, publicBaseURL: base, booking: f.service, logger: testLogger)
    }

    /// The patient texts `body`; the TwiML answer.
    static func text(_ body: String, _ f: BookingFixture) async throws -> (status: HTTPResponse.Status, answer: String) {
        let router = Router(context: BasicRequestContext.self)
        webhooks(f).register(on: router)
        let params = [("AccountSid", account), ("From", patient), ("To", sender), ("Body", body), ("MessageSid", "SMreply")]
        let signature = TwilioSignature.sign(url: base + TwilioWebhooks.inboundPath, parameters: params, authToken: token)
        return try await Application(router: router).test(.router) { client in
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            headers[.init("X-Twilio-Signature")!] = signature
            let r = try await client.execute(
                uri: TwilioWebhooks.inboundPath, method: .post, headers: headers, body: ByteBuffer(string: FormURLEncoding.encode(params)))
            return (r.status, String(buffer: r.body))
        }
    }

    @Test func replyTwoBooksTheSecondOpeningThroughTheLinksPath() async throws {
        let f = try await BookingFixture()
        let (status, answer) = try await Self.text(" 2 ", f)
        #expect(status == .ok)
        #expect(answer.contains("<Message>You&apos;re booked: Thu Dec 3, 8:00 AM"))
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE id = \(f.holds[1]) AND kind = 'booking' AND active") == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'booked'") == 1)
        #expect(try await f.count("SELECT count(*) FROM offers WHERE used_at IS NOT NULL") == 1)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'") == 1)
        // The offer is used now: another number finds no open offer, and books nothing.
        let (_, again) = try await Self.text("3", f)
        #expect(again.contains("could not find an open offer"))
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 1)
        await f.pool.close()
    }

    @Test func aReplyNamingAGoneOpeningSaysSoAndBooksNothing() async throws {
        let f = try await BookingFixture()
        try await f.pool.withConnection { c in
            _ = try await c.execute("UPDATE reservations SET active = false WHERE id = $1", f.holds[0])
        }
        let (_, answer) = try await Self.text("1", f)
        #expect(answer.contains("no longer available"))
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        await f.pool.close()
    }

    @Test func replyHelloBecomesACoordinatorTaskWithTheText() async throws {
        let f = try await BookingFixture()
        let (status, answer) = try await Self.text("hello, can I come later in the day?", f)
        #expect(status == .ok)
        #expect(!answer.contains("<Message>"))
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM coordinator_tasks WHERE kind = 'patient_reply' AND plan_id = 'p1' AND status = 'open'
                  AND context->>'reply' = 'hello, can I come later in the day?'
                """) == 1)
        #expect(try await f.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE kind = 'booking'") == 0)
        await f.pool.close()
    }
}
