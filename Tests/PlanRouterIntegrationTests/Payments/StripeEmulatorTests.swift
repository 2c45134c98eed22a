import Foundation
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterMessaging
import Testing

/// The Stripe emulator as our client meets it, over HTTP: Bearer key, Stripe's field checks,
/// Idempotency-Key.
@Suite struct StripeEmulatorTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func request(_ id: String, expiresIn seconds: Int64 = 7200) -> CheckoutRequest {
        CheckoutRequest(
            depositID: id, organizationID: "org-1", planID: "p1", amountCents: 20_000, currency: "USD", productName: "Deposit",
            expiresAt: Int64(now.timeIntervalSince1970) + seconds)
    }

    @Test func sessionsNeedTheKeyStripesFieldsAndAnswerARepeatedKeyWithTheFirstSession() async throws {
        let emulator = StripeEmulator(
            settings: StripeEmulatorSettings(
                secretKey: "sk_test_right", webhookSecret: "whsec_x", publicBaseURL: "http://pay.local", now: { Self.now }),
            logger: testLogger)
        let server = try await NotifyFixture.serve(logger: testLogger) { emulator.register(on: $0) }
        func client(key: String) -> StripeCheckoutClient {
            StripeCheckoutClient(
                settings: .init(
                    secretKey: key, webhookSecret: "whsec_x", apiBaseURL: "http://127.0.0.1:\(server.port)", successURL: "https://x/ok",
                    cancelURL: "https://x/no"))
        }
        #expect(
            await client(key: "sk_test_wrong").createSession(Self.request("d1"))
                == .permanent(errorClass: "stripe_401_invalid_request_error"))
        #expect(
            await client(key: "sk_test_right").createSession(Self.request("d2", expiresIn: 29 * 60))
                == .permanent(errorClass: "stripe_400_invalid_request_error"))
        guard case .created(let id, let url) = await client(key: "sk_test_right").createSession(Self.request("d3")) else {
            Issue.record("no session")
            await server.running.stop()
            return
        }
        #expect(id.hasPrefix("cs_test_") && url == "http://pay.local/pay/\(id)")
        #expect(emulator.session(id)?["status"] == "open" && emulator.session(id)?["payment_status"] == "unpaid")
        // The same deposit again (a retry after a timeout): Stripe's idempotency gives the same session back.
        #expect(await client(key: "sk_test_right").createSession(Self.request("d3")) == .created(sessionID: id, url: url))
        // The same key with other parameters is refused.
        var other = Self.request("d3")
        other.amountCents = 1
        #expect(await client(key: "sk_test_right").createSession(other) == .permanent(errorClass: "stripe_400_idempotency_error"))
        await server.running.stop()
    }
}
