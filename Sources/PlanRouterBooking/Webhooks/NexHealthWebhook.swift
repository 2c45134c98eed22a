import Foundation
import Hummingbird
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// NexHealth's webhook on the public surface (`POST /connectors/nexhealth/webhook`). A delivery
/// is accepted only with a valid signature of the endpoint's secret (compared in constant time)
/// and a timestamp inside the tolerance; it is then recorded in `nexhealth_deliveries`, scoped
/// to the organization its subdomain belongs to, and answered 200 at once. The work (events,
/// fetching a thin plan, closing a write-back) is the connector's (`planrouter connector
/// nexhealth`), so a slow NexHealth API never delays the answer; NexHealth retries for 48 hours
/// and a delivery recorded before is a no-op.
public struct NexHealthWebhook: Sendable {
    public static let path = "/connectors/nexhealth/webhook"

    let pool: PostgresPool
    let clock: any PlanRouterClock
    let secret: String
    let tolerance: Duration
    /// subdomain -> organization_id: the only institutions this endpoint accepts.
    let organizations: [String: String]
    let logger: Logger

    public init(
        pool: PostgresPool, clock: any PlanRouterClock, secret: String, tolerance: Duration, organizations: [String: String],
        logger: Logger
    ) {
        self.pool = pool
        self.clock = clock
        self.secret = secret
        self.tolerance = tolerance
        self.organizations = organizations
        self.logger = logger
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in
            do { return try await self.receive(request) } catch {
                logger.error("nexhealth webhook failed", metadata: ["error": "\(error)"])
                // 5xx: NexHealth retries, and the retry is recorded once.
                return Response(status: .internalServerError)
            }
        }
    }

    func receive(_ request: Request) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1024 * 1024)
        let body = Array(buffer.readableBytesView)
        let now = try await clock.now()
        let verdict = NexHealthSignature.verify(
            body: body, signature: request.headers.first { $0.name.canonicalName == NexHealthSignature.signatureHeader }?.value,
            timestamp: request.headers.first { $0.name.canonicalName == NexHealthSignature.timestampHeader }?.value, secret: secret,
            now: now, tolerance: tolerance)
        guard verdict == .valid else {
            // The class only: a refused delivery's body may carry patient data.
            logger.warning("nexhealth webhook refused", metadata: ["reason": "\(verdict)"])
            return Response(status: verdict == .stale ? .unauthorized : .forbidden)
        }
        // Authentic; anything we cannot file under an organization is kept out of the tenant tables and
        // dead-lettered with its reason only, and answered 200 (a retry would be refused the same way).
        let parsed = try? JSONParser.parse(body)
        let subdomain = parsed?["subdomain"]?.stringValue
        let event = parsed?["event_name"]?.stringValue ?? parsed?["event"]?.stringValue
        guard let subdomain, let event, let organizationID = organizations[subdomain] else {
            let reason =
                parsed == nil
                ? "body is not JSON" : subdomain == nil ? "no subdomain" : event == nil ? "no event_name" : "subdomain not configured"
            try await pool.withTransaction(scopedTo: .allOrganizations) { tx in
                var outbox = OutboxBatch()
                outbox.append(Self.deadLetter(body: body, reason: reason, now: now))
                try await outbox.insert(on: tx, now: now)
            }
            logger.warning("nexhealth webhook dead-lettered", metadata: ["reason": "\(reason)"])
            return Response(status: .ok)
        }
        let delivery = NewNexHealthDelivery(
            organizationID: organizationID, deliveryKey: NexHealthSignature.deliveryKey(body: body), subdomain: subdomain,
            eventName: event, body: String(decoding: body, as: UTF8.self))
        let fresh = try await pool.withTransaction(scopedTo: .organization(organizationID)) { tx in
            try await NexHealthDeliveriesRepository.record(delivery, now: now, on: tx)
        }
        logger.debug("nexhealth delivery", metadata: ["nexhealth.event": "\(event)", "nexhealth.duplicate": "\(!fresh)"])
        return Response(status: .ok)
    }

    /// The dead letter of a delivery no organization owns: its digest and the reason, no contents.
    static func deadLetter(body: [UInt8], reason: String, now: Date) -> OutboxRecord {
        let key = NexHealthSignature.deliveryKey(body: body)
        let payload: JSONValue = .object(["connector": "nexhealth", "delivery": .string(key), "reason": .string(reason)])
        return OutboxRecord(
            topic: TopicNames.deadLetter(of: "nexhealth.webhooks"), key: Array("nexhealth".utf8), eventID: "nexhealth-dlq-\(key)",
            payload: payload.serializedBytes(),
            headers: [
                "dlq.reason": reason, "dlq.kind": "malformed_delivery", "dlq.consumer": "nexhealth-webhook", "dlq.source": "nexhealth",
                "dlq.time": RFC3339.format(now),
            ])
    }
}
