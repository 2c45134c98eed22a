import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore

/// What creating a Checkout Session came to.
public enum CheckoutOutcome: Sendable, Hashable {
    case created(sessionID: String, url: String)
    /// Try again later: a timeout, a connection error, 429 or 5xx. The Idempotency-Key makes the retry safe.
    case transient(errorClass: String)
    /// Stripe refused the request (400/401/402/403/404): retrying the same request cannot help.
    case permanent(errorClass: String)
}

/// One Checkout Session to create (mode `payment`, one line item).
public struct CheckoutRequest: Sendable, Hashable {
    public var depositID: String
    public var organizationID: String
    public var planID: String
    public var amountCents: Int64
    /// ISO 4217; Stripe takes it lowercase.
    public var currency: String
    public var productName: String
    /// Unix seconds, already within Stripe's 30 min – 24 h window (`expiresAt(dueBy:now:)`).
    public var expiresAt: Int64

    public init(
        depositID: String, organizationID: String, planID: String, amountCents: Int64, currency: String, productName: String,
        expiresAt: Int64
    ) {
        self.depositID = depositID
        self.organizationID = organizationID
        self.planID = planID
        self.amountCents = amountCents
        self.currency = currency
        self.productName = productName
        self.expiresAt = expiresAt
    }
}

/// Stripe Checkout through the API (`POST /v1/checkout/sessions`, form-encoded with bracketed keys,
/// `Authorization: Bearer <secret key>`, `Idempotency-Key: <deposit id>` so a repeated call returns
/// the first call's session; the Session object back, JSON). Field names: docs/payments.md.
public struct StripeCheckoutClient: Sendable {
    public let settings: MessagingConfiguration.Payments
    let client: HTTPClient
    let timeout: TimeAmount

    public init(
        settings: MessagingConfiguration.Payments, client: HTTPClient = TwilioSMSAdapter.pooledClient, timeout: Duration = .seconds(20)
    ) {
        self.settings = settings
        self.client = client
        self.timeout = .seconds(timeout.components.seconds)
    }

    /// Stripe accepts `expires_at` from 30 minutes to 24 hours after creation; the deposit's
    /// deadline is clamped into that window (a minute inside each end, for the call's own latency).
    public static func expiresAt(dueBy: Date, now: Date) -> Int64 {
        let n = Int64(now.timeIntervalSince1970.rounded(.down))
        return min(max(Int64(dueBy.timeIntervalSince1970.rounded(.down)), n + 31 * 60), n + 24 * 3600 - 60)
    }

    /// The form body (pure, unit-tested).
    public func form(_ r: CheckoutRequest) -> [(String, String)] {
        [
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", r.currency.lowercased()),
            ("line_items[0][price_data][unit_amount]", String(r.amountCents)),
            ("line_items[0][price_data][product_data][name]", r.productName),
            ("line_items[0][quantity]", "1"),
            ("metadata[organization]", r.organizationID),
            ("metadata[plan_id]", r.planID),
            ("metadata[deposit_id]", r.depositID),
            ("expires_at", String(r.expiresAt)),
            ("success_url", settings.successURL),
            ("cancel_url", settings.cancelURL),
        ]
    }

    public func createSession(_ r: CheckoutRequest) async -> CheckoutOutcome {
        let base = settings.apiBaseURL.hasSuffix("/") ? String(settings.apiBaseURL.dropLast()) : settings.apiBaseURL
        var request = HTTPClientRequest(url: base + "/v1/checkout/sessions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.secretKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Idempotency-Key", value: r.depositID)
        request.body = .bytes(ByteBuffer(string: FormURLEncoding.encode(form(r))))
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 1 << 20)
            return Self.outcome(status: response.status.code, json: try? JSONParser.parse(String(buffer: body)))
        } catch {
            return .transient(errorClass: TwilioSMSAdapter.errorClass(error))
        }
    }

    /// The outcome of the create call's answer (pure, unit-tested).
    public static func outcome(status: UInt, json: JSONValue?) -> CheckoutOutcome {
        if (200..<300).contains(status) {
            guard let id = json?["id"]?.stringValue, let url = json?["url"]?.stringValue else {
                return .transient(errorClass: "stripe_no_session")
            }
            return .created(sessionID: id, url: url)
        }
        // Stripe's error object: {"error": {"type": "invalid_request_error", "code": "...", ...}}.
        let type = json?["error"]?["type"]?.stringValue
        let errorClass = "stripe_\(status)" + (type.map { "_\($0)" } ?? "")
        if status == 429 || status >= 500 || status == 409 { return .transient(errorClass: errorClass) }
        return .permanent(errorClass: errorClass)
    }
}
