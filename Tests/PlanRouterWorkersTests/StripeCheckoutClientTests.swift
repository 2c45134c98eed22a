import Foundation
import PlanRouterCore
import PlanRouterMessaging
import Testing

@Suite struct StripeCheckoutClientTests {
    static let settings = MessagingConfiguration.Payments(
        secretKey: "sk_test_x", webhookSecret: "whsec_x", apiBaseURL: "http://127.0.0.1:1", successURL: "https://book.example/paid",
        cancelURL: "https://book.example/cancelled")

    @Test func theFormCarriesTheDocumentedFieldsWithBracketedKeys() {
        let r = CheckoutRequest(
            depositID: "dep-1", organizationID: "org-1", planID: "p1", amountCents: 50_000, currency: "USD",
            productName: "Deposit", expiresAt: 1_800_000_000)
        let form = Dictionary(StripeCheckoutClient(settings: Self.settings).form(r), uniquingKeysWith: { a, _ in a })
        #expect(form["mode"] == "payment")
        #expect(form["line_items[0][price_data][currency]"] == "usd")
        #expect(form["line_items[0][price_data][unit_amount]"] == "50000")
        #expect(form["line_items[0][price_data][product_data][name]"] == "Deposit")
        #expect(form["line_items[0][quantity]"] == "1")
        #expect(form["metadata[organization]"] == "org-1" && form["metadata[plan_id]"] == "p1" && form["metadata[deposit_id]"] == "dep-1")
        #expect(form["expires_at"] == "1800000000")
        #expect(form["success_url"] == "https://book.example/paid" && form["cancel_url"] == "https://book.example/cancelled")
    }

    @Test func expiresAtIsTheDeadlineClampedIntoStripesWindow() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let n: Int64 = 1_800_000_000
        #expect(StripeCheckoutClient.expiresAt(dueBy: now.addingTimeInterval(7200), now: now) == n + 7200)
        #expect(StripeCheckoutClient.expiresAt(dueBy: now.addingTimeInterval(600), now: now) == n + 31 * 60)
        #expect(StripeCheckoutClient.expiresAt(dueBy: now.addingTimeInterval(3 * 86_400), now: now) == n + 86_400 - 60)
    }

    @Test func outcomes() throws {
        let ok = try JSONParser.parse(#"{"id": "cs_test_1", "url": "https://checkout.stripe.com/c/pay/cs_test_1"}"#)
        #expect(
            StripeCheckoutClient.outcome(status: 200, json: ok)
                == .created(sessionID: "cs_test_1", url: "https://checkout.stripe.com/c/pay/cs_test_1"))
        let bad = try JSONParser.parse(#"{"error": {"type": "invalid_request_error", "message": "x"}}"#)
        #expect(StripeCheckoutClient.outcome(status: 400, json: bad) == .permanent(errorClass: "stripe_400_invalid_request_error"))
        #expect(StripeCheckoutClient.outcome(status: 503, json: nil) == .transient(errorClass: "stripe_503"))
        #expect(StripeCheckoutClient.outcome(status: 429, json: nil) == .transient(errorClass: "stripe_429"))
    }
}
