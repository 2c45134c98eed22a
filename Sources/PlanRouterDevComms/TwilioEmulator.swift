import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import PlanRouterCore
import Synchronization

/// A local Twilio Messages API (`planrouter dev-comms`, and the tests): create, fetch and list
/// messages; `queued → sent → delivered` with signed `StatusCallback` POSTs; Twilio's test
/// numbers' errors; texts from patients delivered, signed, to an inbound webhook, whose TwiML
/// reply lands in the patient's inbox. Control routes under `/_emulator/` exist only here.
public final class TwilioEmulator: Sendable {
    public let settings: TwilioEmulatorSettings
    public let state = TwilioEmulatorState()
    let client: HTTPClient
    let logger: Logger
    /// The status callbacks still to be sent, by message.
    let callbacks = Mutex<[String: Task<Void, Never>]>([:])

    public init(settings: TwilioEmulatorSettings, client: HTTPClient = .shared, logger: Logger) {
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
        router.post("/2010-04-01/Accounts/:account/Messages.json") { request, context in
            try await self.create(request, account: context.parameters.get("account") ?? "")
        }
        router.get("/2010-04-01/Accounts/:account/Messages.json") { request, context in
            try await self.list(request, account: context.parameters.get("account") ?? "")
        }
        router.get("/2010-04-01/Accounts/:account/Messages/:sid") { request, context in
            try await self.fetch(request, account: context.parameters.get("account") ?? "", sid: context.parameters.get("sid") ?? "")
        }
        // Emulator-only controls (no such routes at Twilio).
        router.post("/_emulator/inbound") { request, _ in
            let form = try await Self.form(request)
            let reply = try await self.receive(from: form["From"] ?? "", to: form["To"] ?? "", body: form["Body"] ?? "")
            return Self.json(
                .ok, .object(["webhook_status": .int(Int64(reply.status)), "replies": .array(reply.replies.map { .string($0) })]))
        }
        router.get("/_emulator/inbox") { request, _ in
            let number = FormURLEncoding.decode(request.uri.query ?? "").first { $0.0 == "number" }?.1 ?? ""
            return Self.json(.ok, .object(["messages": .array(await self.state.inbox(number).map { $0.resource() })]))
        }
        // Every message the emulator sent to patients (API sends and TwiML replies) from position `after` on,
        // with the position to ask from next: the simulated patients' phones (scripts/demo), not a Twilio API.
        router.get("/_emulator/messages") { request, _ in
            let after = FormURLEncoding.decode(request.uri.query ?? "").first { $0.0 == "after" }.flatMap { Int($0.1) } ?? 0
            let (messages, next) = await self.state.sentToPatients(after: after)
            return Self.json(.ok, .object(["messages": .array(messages.map { $0.resource() }), "next": .int(Int64(next))]))
        }
        router.post("/_emulator/faults") { request, _ in
            let form = try await Self.form(request)
            await self.state.injectFaults(status: Int(form["status"] ?? "") ?? 503, count: Int(form["count"] ?? "") ?? 1)
            return Self.json(.ok, .object([:]))
        }
    }

    /// The HTTP server, a `Service` for a `ServiceGroup`.
    public func application(host: String, port: Int) -> Application<RouterResponder<BasicRequestContext>> {
        Application(router: router(), configuration: ApplicationConfiguration(address: .hostname(host, port: port)), logger: logger)
    }

    /// Serves until the task is cancelled (benchmarks run it in-process).
    public func serve(host: String, port: Int) async throws {
        try await application(host: host, port: port).run()
    }

    // MARK: Messages API

    func authenticated(_ request: Request, account: String) -> Bool {
        guard let token = settings.accounts[account], let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) })
        else { return false }
        return TwilioSignature.constantTimeEqual(Array(decoded.utf8), Array("\(account):\(token)".utf8))
    }

    func create(_ request: Request, account: String) async throws -> Response {
        if settings.latency > .zero { try await Task.sleep(for: settings.latency) }
        guard authenticated(request, account: account) else { return Self.error(401, code: 20003, "Authenticate") }
        if let fault = await state.nextFault() { return Self.error(fault, code: 20500, "An internal server error has occurred") }
        let form = try await Self.form(request)
        guard let to = form["To"], !to.isEmpty else { return Self.error(400, code: 21604, "A 'To' phone number is required.") }
        guard let from = form["From"], !from.isEmpty else { return Self.error(400, code: 21603, "A 'From' phone number is required.") }
        guard let body = form["Body"], !body.isEmpty else { return Self.error(400, code: 21602, "Message body is required.") }
        guard Self.isE164(to) else { return Self.error(400, code: 21211, "The 'To' number \(to) is not a valid phone number.") }
        guard Self.isE164(from), settings.senders.isEmpty || settings.senders.contains(from) else {
            return Self.error(400, code: 21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number.")
        }
        guard body.count <= 1600 else {
            return Self.error(400, code: 21617, "The concatenated message body exceeds the 1600 character limit.")
        }
        if let magic = TwilioEmulatorSettings.magicRecipients[to] { return Self.error(400, code: magic.code, magic.message) }
        if await state.isOptedOut(patient: to, sender: from) {
            return Self.error(400, code: 21610, "Attempt to send to unsubscribed recipient")
        }
        let message = EmulatedMessage(
            sid: TwilioEmulatorState.newSID(), accountSID: account, from: from, to: to, body: body, status: "queued",
            direction: "outbound-api", statusCallback: form["StatusCallback"], dateCreated: Date())
        await state.add(message)
        let task = Task { await self.progress(message) }
        callbacks.withLock { $0[message.sid] = task }
        return Self.json(.created, message.resource())
    }

    func list(_ request: Request, account: String) async throws -> Response {
        guard authenticated(request, account: account) else { return Self.error(401, code: 20003, "Authenticate") }
        var filters: [String: String] = [:]
        for (k, v) in FormURLEncoding.decode(request.uri.query ?? "") { filters[k] = v }
        // `DateSent>=` arrives as the name `DateSent>`; compare by day, as Twilio does.
        let since = filters["DateSent>"].flatMap(Self.day)
        let all = await state.messages
        let page = Int(filters["PageSize"] ?? "") ?? 50
        let found = all.filter { m in
            m.accountSID == account && (filters["To"].map { $0 == m.to } ?? true) && (filters["From"].map { $0 == m.from } ?? true)
                && (since.map { m.dateCreated >= $0 } ?? true)
        }.reversed().prefix(page)
        return Self.json(
            .ok,
            .object([
                "messages": .array(found.map { $0.resource() }), "page": 0, "page_size": .int(Int64(page)), "next_page_uri": .null,
                "uri": .string("/2010-04-01/Accounts/\(account)/Messages.json"),
            ]))
    }

    func fetch(_ request: Request, account: String, sid: String) async throws -> Response {
        guard authenticated(request, account: account) else { return Self.error(401, code: 20003, "Authenticate") }
        let bare = sid.hasSuffix(".json") ? String(sid.dropLast(5)) : sid
        guard let m = await state.message(bare), m.accountSID == account else {
            return Self.error(404, code: 20404, "The requested resource was not found")
        }
        return Self.json(.ok, m.resource())
    }

    /// Stops the status callbacks not sent yet and waits for those under way: call it before the
    /// server that receives them stops (a POST arriving at a server that is shutting down).
    public func cancelCallbacks() async {
        let pending = callbacks.withLock { callbacks in
            defer { callbacks = [:] }
            return Array(callbacks.values)
        }
        for task in pending { task.cancel() }
        for task in pending { await task.value }
    }

    /// queued → sent → delivered, each change POSTed to the message's StatusCallback, signed.
    func progress(_ message: EmulatedMessage) async {
        defer { _ = callbacks.withLock { $0.removeValue(forKey: message.sid) } }
        for status in ["sent", "delivered"] {
            try? await Task.sleep(for: settings.callbackDelay)
            if Task.isCancelled { return }
            guard let m = await state.setStatus(message.sid, status), let url = m.statusCallback,
                let token = settings.accounts[m.accountSID]
            else { continue }
            let params = [
                ("AccountSid", m.accountSID), ("ApiVersion", "2010-04-01"), ("From", m.from), ("MessageSid", m.sid),
                ("MessageStatus", status), ("SmsSid", m.sid), ("SmsStatus", status), ("To", m.to),
            ]
            _ = try? await post(url: url, params: params, token: token)
        }
    }

    // MARK: Inbound texts

    /// A patient texts `to` (our sender): Twilio's own opt-out handling first, then the signed
    /// webhook; the TwiML `<Message>` replies are delivered to the patient's inbox.
    public func receive(from: String, to: String, body: String) async throws -> (status: Int, replies: [String]) {
        switch ConsentKeyword(message: body) {
        case .optOut: await state.setOptedOut(patient: from, sender: to, true)
        case .optIn: await state.setOptedOut(patient: from, sender: to, false)
        default: break
        }
        let account = settings.inboundAccount ?? settings.accounts.keys.sorted().first ?? ""
        let sid = TwilioEmulatorState.newSID()
        await state.add(
            EmulatedMessage(
                sid: sid, accountSID: account, from: from, to: to, body: body, status: "received", direction: "inbound", dateCreated: Date()
            ))
        guard let url = settings.inboundWebhookURL, let token = settings.accounts[account] else { return (0, []) }
        let params = [
            ("AccountSid", account), ("ApiVersion", "2010-04-01"), ("Body", body), ("From", from), ("MessageSid", sid), ("NumMedia", "0"),
            ("NumSegments", "1"), ("SmsMessageSid", sid), ("SmsSid", sid), ("SmsStatus", "received"), ("To", to),
        ]
        let (status, twiml) = try await post(url: url, params: params, token: token)
        let replies = Self.twimlMessages(twiml)
        for text in replies {
            await state.add(
                EmulatedMessage(
                    sid: TwilioEmulatorState.newSID(), accountSID: account, from: to, to: from, body: text, status: "delivered",
                    direction: "outbound-reply", dateCreated: Date()))
        }
        return (status, replies)
    }

    /// POSTs form parameters signed as Twilio signs its webhooks; returns the status and body.
    func post(url: String, params: [(String, String)], token: String) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "X-Twilio-Signature", value: TwilioSignature.sign(url: url, parameters: params, authToken: token))
        request.headers.add(name: "User-Agent", value: "TwilioProxy/1.1 (planrouter dev-comms emulator)")
        request.body = .bytes(ByteBuffer(string: FormURLEncoding.encode(params)))
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// The texts of `<Message>` elements in a TwiML response (plain text bodies only).
    static func twimlMessages(_ xml: String) -> [String] {
        var out: [String] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<Message>"), let close = rest.range(of: "</Message>", range: open.upperBound..<rest.endIndex) {
            let text = rest[open.upperBound..<close.lowerBound]
            out.append(
                String(text).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
                    .replacingOccurrences(of: "&amp;", with: "&"))
            rest = rest[close.upperBound...]
        }
        return out
    }

    // MARK: Helpers

    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 1 << 20)
        var out: [String: String] = [:]
        for (k, v) in FormURLEncoding.decode(String(buffer: body)) { out[k] = v }
        return out
    }

    static func isE164(_ s: String) -> Bool {
        s.hasPrefix("+") && (8...16).contains(s.count) && s.dropFirst().allSatisfy(\.isNumber) && s.dropFirst().first != "0"
    }

    static func day(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.date(from: s)
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    /// Twilio's error body: `{code, message, more_info, status}`.
    static func error(_ status: Int, code: Int, _ message: String) -> Response {
        json(
            HTTPResponse.Status(code: status),
            .object([
                "code": .int(Int64(code)), "message": .string(message), "more_info": .string("https://www.twilio.com/docs/errors/\(code)"),
                "status": .int(Int64(status)),
            ]))
    }
}
