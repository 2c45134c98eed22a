import Foundation
import Hummingbird
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Twilio's webhooks on the public surface: message status callbacks and texts from
/// patients. Every request must carry a valid `X-Twilio-Signature` for the account it names
/// (HMAC-SHA1 over the URL Twilio called plus the sorted POST parameters, compared in
/// constant time); anything else is answered 403 and changes nothing.
public struct TwilioWebhooks: Sendable {
    public static let statusPath = "/webhooks/twilio/status"
    public static let inboundPath = "/webhooks/twilio/inbound"

    let pool: PostgresPool
    let clock: any PlanRouterClock
    let configuration: MessagingConfiguration
    /// The scheme and host Twilio calls (what it signs), e.g. `https://book.example.com`;
    /// behind a proxy the request's own Host is not it.
    let publicBaseURL: String
    /// Books replies `1`/`2`/`3` through the link's path; nil: replies only become tasks.
    let booking: BookingService?
    let topics: TopicNames
    let logger: Logger

    public init(
        pool: PostgresPool, clock: any PlanRouterClock, configuration: MessagingConfiguration, publicBaseURL: String,
        booking: BookingService? = nil, topics: TopicNames = .init(), logger: Logger
    ) {
        self.booking = booking
        self.topics = topics
        self.pool = pool
        self.clock = clock
        self.configuration = configuration
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        self.logger = logger
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.statusPath)) { request, _ in await self.guarded { try await self.status(request) } }
        router.post(RouterPath(Self.inboundPath)) { request, _ in await self.guarded { try await self.inbound(request) } }
    }

    func guarded(_ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch {
            logger.error("twilio webhook failed", metadata: ["error": "\(error)"])
            // 5xx: Twilio retries status callbacks it could not deliver.
            return Response(status: .internalServerError)
        }
    }

    /// The form parameters when the signature is valid for the account they name; nil otherwise.
    func verified(_ request: Request) async throws -> [(String, String)]? {
        let body = try await request.body.collect(upTo: 64 * 1024)
        let params = FormURLEncoding.decode(String(buffer: body))
        guard let account = params.first(where: { $0.0 == "AccountSid" })?.1, let sms = configuration.sms(account: account),
            let signature = request.headers.first(where: { $0.name.canonicalName == "x-twilio-signature" })?.value
        else { return nil }
        let url = publicBaseURL + request.uri.description
        return TwilioSignature.isValid(signature: signature, url: url, parameters: params, authToken: sms.authToken) ? params : nil
    }

    /// `queued → sent → delivered | undelivered | failed`: moves our delivery row forward
    /// only, so a repeated or late callback changes nothing.
    func status(_ request: Request) async throws -> Response {
        guard let params = try await verified(request) else { return refused() }
        let p = Dictionary(params, uniquingKeysWith: { first, _ in first })
        let query = Dictionary(FormURLEncoding.decode(request.uri.query ?? ""), uniquingKeysWith: { first, _ in first })
        guard let id = query["delivery"].flatMap(Int64.init), let organizationID = query["organization"], let sid = p["MessageSid"],
            let status = p["MessageStatus"].flatMap(DeliveryStatus.init(twilioStatus:))
        else { return Response(status: .noContent) }
        let error = p["ErrorCode"].flatMap { $0.isEmpty ? nil : "twilio_\($0)" }
        let now = try await clock.now()
        // The organization comes from the signed URL; the transaction sees only its rows.
        try await pool.withTransaction(scopedTo: .organization(organizationID)) { conn in
            _ = try await MessageDeliveriesRepository.applyProviderStatus(
                id: id, providerID: sid, status: status, error: error, now: now, on: conn)
        }
        return Response(status: .noContent)
    }

    /// A text from a patient: STOP and its synonyms opt the number out of the organization's
    /// texts at once, START/UNSTOP opt it back in, HELP is answered with the practice's name
    /// and phone. `1`, `2` or `3` books that opening of the newest open offer texted to the number
    /// (answered with the confirmation or what went wrong); anything else becomes a coordinator task
    /// with the text in its context (docs/messaging.md). The text itself is never logged.
    func inbound(_ request: Request) async throws -> Response {
        guard let params = try await verified(request) else { return refused() }
        let p = Dictionary(params, uniquingKeysWith: { first, _ in first })
        guard let from = p["From"], let to = p["To"], let match = configuration.organization(sender: to) else { return Self.twiml([]) }
        let (organizationID, organization) = match
        let now = try await clock.now()
        switch ConsentKeyword(message: p["Body"] ?? "") {
        case .optOut:
            try await pool.withTransaction(scopedTo: .organization(organizationID)) { conn in
                let keyword = (p["Body"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
                try await SuppressionsRepository.optOut(
                    organizationID: organizationID, phone: from, keyword: String(keyword.prefix(20)), now: now, on: conn)
            }
            // Twilio's default opt-out handling confirms to the patient itself.
            return Self.twiml([])
        case .optIn:
            try await pool.withTransaction(scopedTo: .organization(organizationID)) { conn in
                try await SuppressionsRepository.optIn(organizationID: organizationID, phone: from, on: conn)
            }
            return Self.twiml([])
        case .help:
            return Self.twiml([SMSWording.help(practiceName: organization.practiceName, practicePhone: organization.practicePhone)])
        case nil:
            let text = (p["Body"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
            if let booking, let number = Int(text), (1...9).contains(number), text.count == 1 {
                let result = try await booking.bookReply(organizationID: organizationID, phone: from, number: number)
                return Self.twiml([Self.replyAnswer(result, organization: organization)])
            }
            try await replyTask(organizationID: organizationID, phone: from, text: p["Body"] ?? "", now: now)
            return Self.twiml([])
        }
    }

    /// The answer to a reply that named an opening.
    static func replyAnswer(_ result: BookingResult?, organization: MessagingConfiguration.Organization) -> String {
        let call = organization.practicePhone.map { " Please call us at \($0)." } ?? " Please call the office."
        switch result {
        case nil:
            return "We could not find an open offer for this number." + call
        case .notFound:
            return "That offer is no longer open." + call
        case .conflict(let view):
            return "Sorry, that time is no longer available."
                + (view.openings.isEmpty ? call : " Your booking link shows the times still open.")
        case .booked(let c):
            let when = LocalTime.formatWithZone(c.opening.start, in: c.offer.timeZone)
            let place = c.offer.locationName.isEmpty ? "the office" : c.offer.locationName
            if let until = c.provisionalUntil {
                return "We are holding \(when) at \(place) for you until "
                    + "\(LocalTime.formatWithZone(Int64(until.timeIntervalSince1970), in: c.offer.timeZone)). "
                    + "We will text you a link to pay the \(MessageTemplates.dollars(c.offer.depositCents)) deposit that confirms it."
            }
            return "You're booked: \(when) at \(place). See you then!"
        }
    }

    /// Any other reply: a coordinator task on the patient's newest case, the text in its context
    /// (where the coordinator reads it). A number with no case is left alone.
    func replyTask(organizationID: String, phone: String, text: String, now: Date) async throws {
        let topics = self.topics
        let created = try await pool.withTransaction(scopedTo: .organization(organizationID)) { tx -> Bool in
            guard let key = try await PlansRepository.latestCase(organizationID: organizationID, phone: phone, on: tx) else { return false }
            var outbox = OutboxBatch()
            let task = try await CaseTasks.create(
                key, kind: .patientReply, reason: "the patient replied to a text; read the reply and answer them", urgent: false,
                extraContext: .object(["reply": .string(String(text.prefix(1600)))]), source: "planrouter/messaging", topics: topics,
                outbox: &outbox, now: now, on: tx)
            try await outbox.insert(on: tx, now: now)
            return task != nil
        }
        logger.debug("patient reply handed to a coordinator", metadata: ["reply.task_created": "\(created)"])
    }

    func refused() -> Response {
        logger.warning("twilio webhook refused: signature missing or invalid")
        return Response(status: .forbidden)
    }

    /// A TwiML response with a `<Message>` per text.
    static func twiml(_ messages: [String]) -> Response {
        let body = messages.map { "<Message>\(xmlEscaped($0))</Message>" }.joined()
        return Response(
            status: .ok, headers: [.contentType: "text/xml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\(body)</Response>")))
    }

    static func xmlEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;"
        )
        .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&apos;")
    }
}
