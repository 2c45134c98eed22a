import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore

/// SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
/// form-encoded To/From/Body/StatusCallback, HTTP Basic auth with the account SID and auth
/// token; a JSON Message resource back). Field names and error codes: docs/messaging.md.
public struct TwilioSMSAdapter: ChannelAdapter {
    public let settings: MessagingConfiguration.SMS
    let client: HTTPClient
    let timeout: TimeAmount

    /// Twilio error codes after which sending again cannot help (twilio.com/docs/api/errors).
    public static let permanentCodes: Set<Int> = [
        21211,  // invalid 'To' phone number
        21212,  // invalid 'From' number
        21408,  // permission to send to this region not enabled
        21602,  // message body is required
        21606,  // 'From' is not a valid, SMS-capable number of the account
        21612,  // 'To' cannot be reached from this 'From' (carrier cannot route)
        21614,  // 'To' is not a valid mobile number
        21617,  // body exceeds 1,600 characters
        30003, 30005, 30006,  // unreachable, unknown, landline
    ]
    /// The recipient replied STOP to this sender (Twilio's Advanced Opt-Out blocks the send).
    public static let unsubscribedCode = 21610

    /// One client for every Twilio adapter of the process. HTTP/1.1 carries one request per
    /// connection at a time, and the globally shared client's 8 connections per host capped a
    /// sender at 8 calls in flight (160 messages/s at 50 ms per call: docs/benchmarks.md).
    public static let pooledClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(settings: MessagingConfiguration.SMS, client: HTTPClient = TwilioSMSAdapter.pooledClient, timeout: Duration = .seconds(10))
    {
        self.settings = settings
        self.client = client
        self.timeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
    }

    public var senderKey: String { "sms:\(settings.accountSID):\(settings.from)" }
    public var ratePerSecond: Double { settings.ratePerSecond }

    var messagesURL: String {
        let base = settings.apiBaseURL.hasSuffix("/") ? String(settings.apiBaseURL.dropLast()) : settings.apiBaseURL
        return "\(base)/2010-04-01/Accounts/\(FormURLEncoding.escape(settings.accountSID))/Messages.json"
    }

    var authorization: String {
        "Basic " + Data("\(settings.accountSID):\(settings.authToken)".utf8).base64EncodedString()
    }

    /// The status callback URL names our delivery row, so a callback that overtakes the
    /// create response still finds its row.
    func statusCallback(for m: OutgoingMessage) -> String? {
        settings.statusCallbackURL.map { url in
            url + (url.contains("?") ? "&" : "?") + "delivery=\(m.deliveryID)&organization=\(FormURLEncoding.escape(m.organizationID))"
        }
    }

    public func send(_ m: OutgoingMessage) async -> SendOutcome {
        var form = [("To", m.to), ("From", settings.from), ("Body", m.body)]
        if let callback = statusCallback(for: m) { form.append(("StatusCallback", callback)) }
        var request = HTTPClientRequest(url: messagesURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: FormURLEncoding.encode(form)))
        let status: UInt
        let json: JSONValue?
        do {
            let response = try await client.execute(request, timeout: timeout)
            status = response.status.code
            let body = try await response.body.collect(upTo: 1 << 20)
            json = try? JSONParser.parse(String(buffer: body))
        } catch {
            return .transient(errorClass: Self.errorClass(error))
        }
        return Self.outcome(status: status, json: json)
    }

    /// The outcome of the create call's answer (pure, unit-tested).
    public static func outcome(status: UInt, json: JSONValue?) -> SendOutcome {
        if (200..<300).contains(status) {
            guard let sid = json?["sid"]?.stringValue, !sid.isEmpty else { return .transient(errorClass: "twilio_no_sid") }
            return .accepted(providerID: sid)
        }
        let code = json?["code"]?.intValue
        let errorClass = code.map { "twilio_\($0)" } ?? "http_\(status)"
        if code == unsubscribedCode { return .optedOut(errorClass: errorClass) }
        if let code, permanentCodes.contains(code) { return .permanent(errorClass: errorClass) }
        // 401/403 (credentials), 429 (too many requests) and 5xx: the operator or time fixes them.
        if status == 401 || status == 403 || status == 429 || status >= 500 { return .transient(errorClass: errorClass) }
        return .permanent(errorClass: errorClass)
    }

    /// Twilio has no idempotency key for Messages: after an unknown outcome we list the
    /// account's messages to the number from our sender since the attempt's day
    /// (`To`, `From`, `DateSent>=` are the list filters Twilio documents) and match the body.
    public func findAccepted(_ m: OutgoingMessage, since: Date) async throws -> String? {
        let day = Date(timeIntervalSince1970: (since.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 - 86_400)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        // `DateSent>=` is a name `DateSent>` with `=` after it, as Twilio's helper libraries send it.
        let query = FormURLEncoding.encode([("To", m.to), ("From", settings.from), ("DateSent>", f.string(from: day)), ("PageSize", "100")])
        var request = HTTPClientRequest(url: messagesURL + "?" + query)
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 8 << 20)
        guard response.status.code == 200, let list = try? JSONParser.parse(String(buffer: body)) else {
            throw TwilioLookupError(status: response.status.code)
        }
        // The earlier attempt's body may differ by the first text's opt-out line (another text to
        // the number may have been sent in between).
        var bodies: Set<String> = [m.body, SMSWording.firstText(m.body)]
        let line = "\n" + SMSWording.optOutLine
        if m.body.hasSuffix(line) { bodies.insert(String(m.body.dropLast(line.count))) }
        for message in list["messages"]?.arrayValue ?? [] where bodies.contains(message["body"]?.stringValue ?? "") {
            if let sid = message["sid"]?.stringValue, message["status"]?.stringValue != "failed" { return sid }
        }
        return nil
    }

    static func errorClass(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout { return "timeout" }
            return "connection"
        }
        return "connection"
    }
}

/// The message list could not be read (the caller retries later).
public struct TwilioLookupError: Error, CustomStringConvertible, Sendable {
    public var status: UInt
    public var description: String { "twilio message lookup answered HTTP \(status)" }
}
