import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import PlanRouterCore
import Synchronization

/// What the Stripe emulator accepts and where it sends webhooks. **A local stand-in**, written
/// from Stripe's public documentation (docs/payments.md says which parts are verified against it
/// and which are assumed); nothing in production links this module.
public struct StripeEmulatorSettings: Sendable {
    /// The secret key requests must carry (`Authorization: Bearer …`).
    public var secretKey: String
    /// The webhook endpoint's signing secret (`whsec_…`).
    public var webhookSecret: String
    /// Where events are POSTed (our `/webhooks/stripe`); nil: none sent.
    public var webhookURL: String?
    /// The emulator's own address, for the session `url` (its pay page).
    public var publicBaseURL: String
    /// Waits between delivery attempts of one event (Stripe retries for days with backoff; a few here).
    public var retryDelays: [Duration]
    /// The emulator's business clock (`expires_at` checks, session and event `created`); `POST /_emulator/clock`
    /// can set it instead (the demo's simulated month).
    public var now: @Sendable () -> Date
    /// The signatures' timestamps (`t=`): always the wall clock, even when business time is simulated,
    /// because the receiver's tolerance window is a transport check against its own wall clock (docs/payments.md).
    public var signingNow: @Sendable () -> Date

    public init(
        secretKey: String, webhookSecret: String, webhookURL: String? = nil, publicBaseURL: String,
        retryDelays: [Duration] = [.milliseconds(200), .seconds(1), .seconds(5)],
        now: @escaping @Sendable () -> Date = { WallClock().now() }, signingNow: @escaping @Sendable () -> Date = { WallClock().now() }
    ) {
        self.secretKey = secretKey
        self.webhookSecret = webhookSecret
        self.webhookURL = webhookURL
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.retryDelays = retryDelays
        self.now = now
        self.signingNow = signingNow
    }
}

/// A local Stripe Checkout (`planrouter dev-payments`, and the tests): `POST /v1/checkout/sessions`
/// (Bearer key, form-encoded, `Idempotency-Key`), `GET /v1/checkout/sessions/{id}`, a pay page
/// per session (`/pay/{id}`: pay, or let it expire), and signed `checkout.session.completed` /
/// `checkout.session.expired` events POSTed to the webhook URL with retries.
public final class StripeEmulator: Sendable {
    public let settings: StripeEmulatorSettings
    let state = Mutex(State())
    let client: HTTPClient
    let logger: Logger

    struct State {
        var sessions: [String: JSONObject] = [:]
        /// Idempotency key → (request body, session id).
        var keys: [String: (body: String, id: String)] = [:]
        /// Every event sent, by id (for redelivery).
        var events: [String: String] = [:]
        /// Status codes of every delivery attempt, in order.
        var deliveries: [(eventID: String, status: Int)] = []
        /// Business time set through `POST /_emulator/clock`; nil: `settings.now`.
        var businessNow: Date?
    }

    public init(settings: StripeEmulatorSettings, client: HTTPClient = .shared, logger: Logger) {
        self.settings = settings
        self.client = client
        self.logger = logger
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        register(on: router)
        return router
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/checkout/sessions") { request, _ in try await self.create(request) }
        router.get("/v1/checkout/sessions/:id") { request, context in
            guard self.authenticated(request) else { return Self.error(401, type: "invalid_request_error", "Invalid API Key provided") }
            guard let s = self.session(context.parameters.get("id") ?? "") else {
                return Self.error(404, type: "invalid_request_error", "No such checkout.session")
            }
            return Self.json(.ok, .object(s))
        }
        // The simulated patient's checkout page (at Stripe: checkout.stripe.com/c/pay/cs_…).
        router.get("/pay/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let s = self.session(id) else { return Self.html(.notFound, "<h1>No such session</h1>") }
            return Self.html(.ok, Self.payPage(id, s))
        }
        router.post("/pay/:id") { request, context in
            let form = try await request.body.collect(upTo: 16 * 1024)
            let action = FormURLEncoding.decode(String(buffer: form)).first { $0.0 == "action" }?.1 ?? "pay"
            let id = context.parameters.get("id") ?? ""
            let ok = action == "expire" ? try await self.expire(id) : try await self.pay(id)
            return ok
                ? Self.html(.ok, "<h1>\(action == "expire" ? "Session expired" : "Paid")</h1>")
                : Self.html(.conflict, "<h1>Session not open</h1>")
        }
        // Emulator-only: business time moves to `now` (Unix seconds); open sessions past their `expires_at` expire
        // and their `checkout.session.expired` events are sent. The demo's simulator calls it as its month advances.
        router.post("/_emulator/clock") { request, _ in
            let form = try await request.body.collect(upTo: 16 * 1024)
            guard let seconds = FormURLEncoding.decode(String(buffer: form)).first(where: { $0.0 == "now" }).flatMap({ Int64($0.1) })
            else { return Self.error(400, type: "invalid_request_error", "now: Unix seconds required") }
            let expired = try await self.advance(to: Date(timeIntervalSince1970: Double(seconds)))
            return Self.json(.ok, .object(["expired": .int(Int64(expired))]))
        }
        // Emulator-only: send an event again, as Stripe does when redelivering (same id, new signature).
        router.post("/_emulator/events/:id/resend") { _, context in
            let status = try await self.resend(context.parameters.get("id") ?? "")
            return Self.json(.ok, .object(["status": .int(Int64(status ?? 0))]))
        }
    }

    public func application(host: String, port: Int) -> Application<RouterResponder<BasicRequestContext>> {
        Application(router: router(), configuration: ApplicationConfiguration(address: .hostname(host, port: port)), logger: logger)
    }

    func authenticated(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return TwilioSignature.constantTimeEqual(Array(header.dropFirst(7).utf8), Array(settings.secretKey.utf8))
    }

    public func session(_ id: String) -> JSONObject? { state.withLock { $0.sessions[id] } }

    /// Business time: what `POST /_emulator/clock` set last, else `settings.now`.
    public func now() -> Date { state.withLock { $0.businessNow } ?? settings.now() }

    /// Moves business time to `date` and expires every open session whose `expires_at` has passed; how many expired.
    @discardableResult
    public func advance(to date: Date) async throws -> Int {
        let lapsed: [String] = state.withLock { s in
            s.businessNow = date
            return s.sessions.values.filter {
                $0["status"] == "open" && ($0["expires_at"]?.int64Value ?? .max) <= Int64(date.timeIntervalSince1970)
            }
            .compactMap { $0["id"]?.stringValue }.sorted()
        }
        var expired = 0
        for id in lapsed {
            if try await expire(id) { expired += 1 }
        }
        return expired
    }

    /// Delivery attempts so far (event id, HTTP status; 0 = no answer).
    public var deliveries: [(eventID: String, status: Int)] { state.withLock { $0.deliveries } }

    func create(_ request: Request) async throws -> Response {
        guard authenticated(request) else { return Self.error(401, type: "invalid_request_error", "Invalid API Key provided") }
        let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
        let key = request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value
        if let key, let earlier = state.withLock({ $0.keys[key] }) {
            // Stripe answers a repeated key with the first result, and refuses the key with other parameters.
            guard earlier.body == body, let s = session(earlier.id) else {
                return Self.error(400, type: "idempotency_error", "Keys for idempotent requests can only be used with the same parameters")
            }
            return Self.json(.ok, .object(s))
        }
        var form: [String: String] = [:]
        for (k, v) in FormURLEncoding.decode(body) { form[k] = v }
        let now = Int64(self.now().timeIntervalSince1970)
        guard form["mode"] == "payment" else { return Self.error(400, type: "invalid_request_error", "mode: only payment is emulated") }
        guard let currency = form["line_items[0][price_data][currency]"],
            let amount = form["line_items[0][price_data][unit_amount]"].flatMap(Int64.init),
            amount > 0, form["line_items[0][price_data][product_data][name]"] != nil,
            let quantity = form["line_items[0][quantity]"].flatMap(Int64.init)
        else {
            return Self.error(
                400, type: "invalid_request_error",
                "line_items[0]: price_data (currency, unit_amount, product_data[name]) and quantity are required")
        }
        guard form["success_url"] != nil else {
            return Self.error(400, type: "invalid_request_error", "Missing required param: success_url.")
        }
        let expiresAt = form["expires_at"].flatMap(Int64.init) ?? now + 24 * 3600
        // Stripe: at least 30 minutes and at most 24 hours after the session's creation.
        guard expiresAt >= now + 30 * 60, expiresAt <= now + 24 * 3600 else {
            return Self.error(400, type: "invalid_request_error", "expires_at must be between 30 minutes and 24 hours from now")
        }
        var metadata: JSONObject = [:]
        for (k, v) in form where k.hasPrefix("metadata[") && k.hasSuffix("]") { metadata[String(k.dropFirst(9).dropLast())] = .string(v) }
        let id = "cs_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let session: JSONObject = [
            "id": .string(id), "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
            "url": .string("\(settings.publicBaseURL)/pay/\(id)"), "expires_at": .int(expiresAt), "created": .int(now),
            "amount_total": .int(amount * quantity), "currency": .string(currency), "metadata": .object(metadata),
            "success_url": .string(form["success_url"] ?? ""), "cancel_url": form["cancel_url"].map { .string($0) } ?? .null,
            "livemode": false, "payment_intent": .null,
        ]
        state.withLock {
            $0.sessions[id] = session
            if let key { $0.keys[key] = (body, id) }
        }
        return Self.json(.ok, .object(session))
    }

    /// The patient pays: the session completes and `checkout.session.completed` is sent. False when it is not open.
    @discardableResult
    public func pay(_ id: String) async throws -> Bool {
        // A session expires when business time passes its `expires_at` (`advance(to:)`), not here: the tests model
        // a payment whose event arrives after our hold ran out by paying without moving the emulator's clock.
        try await finish(id, status: "complete", paymentStatus: "paid", event: "checkout.session.completed")
    }

    /// The session runs out: `checkout.session.expired` is sent. False when it is not open.
    @discardableResult
    public func expire(_ id: String) async throws -> Bool {
        try await finish(id, status: "expired", paymentStatus: "unpaid", event: "checkout.session.expired")
    }

    func finish(_ id: String, status: String, paymentStatus: String, event type: String) async throws -> Bool {
        let updated: JSONObject? = state.withLock {
            guard var s = $0.sessions[id], s["status"] == "open" else { return nil }
            s["status"] = .string(status)
            s["payment_status"] = .string(paymentStatus)
            if status == "complete" { s["payment_intent"] = .string("pi_test_" + UUID().uuidString.prefix(12).lowercased()) }
            $0.sessions[id] = s
            return s
        }
        guard let updated else { return false }
        let eventID = "evt_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let event = JSONValue.object([
            "id": .string(eventID), "object": "event", "api_version": "2024-06-20",
            "created": .int(Int64(now().timeIntervalSince1970)),
            "type": .string(type), "livemode": false, "pending_webhooks": 1, "data": .object(["object": .object(updated)]),
        ]).serialized()
        state.withLock { $0.events[eventID] = event }
        _ = await deliver(eventID, event)
        return true
    }

    /// Sends an event again (a redelivery: same id and body, a fresh signature); its last status.
    public func resend(_ eventID: String) async throws -> Int? {
        guard let event = state.withLock({ $0.events[eventID] }) else { return nil }
        return await deliver(eventID, event)
    }

    /// POSTs the event, signed, until a 2xx answer or the retries run out; the last status.
    func deliver(_ eventID: String, _ body: String) async -> Int {
        guard let url = settings.webhookURL else { return 0 }
        var last = 0
        for (attempt, delay) in ([Duration.zero] + settings.retryDelays).enumerated() {
            if attempt > 0 { try? await Task.sleep(for: delay) }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.headers.add(
                name: "Stripe-Signature",
                value: StripeSignature.header(
                    payload: Array(body.utf8), timestamp: Int64(settings.signingNow().timeIntervalSince1970),
                    secrets: [settings.webhookSecret]))
            request.body = .bytes(ByteBuffer(string: body))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                last = Int(response.status.code)
            } catch {
                last = 0
            }
            state.withLock { $0.deliveries.append((eventID, last)) }
            if (200..<300).contains(last) { break }
            logger.debug("stripe emulator webhook not accepted; retrying", metadata: ["http.status": "\(last)"])
        }
        return last
    }

    static func payPage(_ id: String, _ s: JSONObject) -> String {
        let amount = MessageTemplates.dollars(s["amount_total"]?.int64Value ?? 0)
        return """
            <!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Stripe emulator</title></head>
            <body><p><strong>Stripe emulator</strong> (a local stand-in, not Stripe)</p><h1>Deposit \(amount)</h1>
            <p>Session \(id): \(s["status"]?.stringValue ?? "")</p>
            <form method="post"><button name="action" value="pay">Pay</button> <button name="action" value="expire">Let it expire</button></form>
            </body></html>
            """
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    static func html(_ status: HTTPResponse.Status, _ s: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// Stripe's error body: `{"error": {"type", "message"}}`.
    static func error(_ status: Int, type: String, _ message: String) -> Response {
        json(HTTPResponse.Status(code: status), .object(["error": .object(["type": .string(type), "message": .string(message)])]))
    }
}
