import Foundation
import Hummingbird
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Stripe's webhook on the public surface (`POST /webhooks/stripe`): Checkout Session events of
/// deposits. The organization comes from the session's `metadata[organization]` (set when the
/// session was created); the request must carry a `Stripe-Signature` valid for that organization's
/// endpoint secret over the raw body, timestamped within 300 s of the wall clock; anything else is 400 and
/// changes nothing. Two clocks on purpose: the tolerance window is a transport check (how old is this
/// delivery?) and always uses `transportClock`, the wall clock, while what the event changes (paid_at, the
/// provisional booking) happens at business time, the service's clock, which the simulation runs on
/// `sim_clock` (docs/payments.md). Each event applies once: its id is recorded in `stripe_webhook_events` in the
/// transaction that applies it, so a redelivery or a replay within the tolerance is a no-op.
public struct StripeWebhooks: Sendable {
    public static let path = "/webhooks/stripe"

    let service: BookingService
    let configuration: MessagingConfiguration
    let tolerance: Int64
    let transportClock: any PlanRouterClock

    public init(
        service: BookingService, configuration: MessagingConfiguration, tolerance: Int64 = StripeSignature.defaultTolerance,
        transportClock: any PlanRouterClock = WallClock()
    ) {
        self.service = service
        self.configuration = configuration
        self.tolerance = tolerance
        self.transportClock = transportClock
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.post(RouterPath(Self.path)) { request, _ in
            do { return try await self.receive(request) } catch {
                service.logger.error("stripe webhook failed", metadata: ["error": "\(error)"])
                // 5xx: Stripe retries the delivery (for up to three days).
                return Response(status: .internalServerError)
            }
        }
    }

    /// What the handler did with a verified event (for tests and logs).
    public enum Applied: String, Sendable {
        case paid, confirmed, unconfirmed, expired, duplicate, ignored
    }

    func receive(_ request: Request) async throws -> Response {
        let body = Array(buffer: try await request.body.collect(upTo: 512 * 1024))
        let header = request.headers.first { $0.name.canonicalName == "stripe-signature" }?.value ?? ""
        let receivedAt = try await transportClock.now()
        let now = try await service.clock.now()
        switch try await apply(body: body, signature: header, receivedAt: receivedAt, now: now) {
        case .failure(let reason):
            service.logger.warning("stripe webhook refused", metadata: ["stripe.refusal": "\(reason)"])
            return Response(status: .badRequest)
        case .success(let applied):
            service.logger.debug("stripe webhook applied", metadata: ["stripe.applied": "\(applied.rawValue)"])
            return Response(status: .ok)
        }
    }

    public enum Refusal: String, Error, Sendable {
        case malformedBody = "malformed_body"
        case unknownOrganization = "unknown_organization"
        case malformedHeader = "malformed_header"
        case staleTimestamp = "stale_timestamp"
        case noMatchingSignature = "no_matching_signature"
    }

    /// Verifies one delivery (the raw body and the `Stripe-Signature` header) received at wall-clock `receivedAt`
    /// and applies it at business time `now`.
    public func apply(body: [UInt8], signature: String, receivedAt: Date, now: Date) async throws -> Result<Applied, Refusal> {
        guard let event = try? JSONParser.parse(String(decoding: body, as: UTF8.self)), let eventID = event["id"]?.stringValue,
            let type = event["type"]?.stringValue
        else { return .failure(.malformedBody) }
        let session = event["data"]?["object"]
        guard let organizationID = session?["metadata"]?["organization"]?.stringValue,
            let payments = configuration.organization(organizationID)?.payments
        else { return .failure(.unknownOrganization) }
        do {
            try StripeSignature.verify(
                header: signature, payload: body, secret: payments.webhookSecret,
                now: Int64(receivedAt.timeIntervalSince1970.rounded(.down)),
                tolerance: tolerance)
        } catch {
            return .failure(Refusal(rawValue: error.rawValue) ?? .noMatchingSignature)
        }
        let depositID = session?["metadata"]?["deposit_id"]?.stringValue
        let paid = session?["payment_status"]?.stringValue == "paid"
        let service = self.service
        let applied = try await service.pool.withTransaction(scopedTo: .organization(organizationID)) { tx -> Applied in
            guard
                try await DepositsRepository.recordWebhookEvent(
                    organizationID: organizationID, eventID: eventID, type: type, now: now, on: tx)
            else { return .duplicate }
            guard let depositID else { return .ignored }
            var outbox = OutboxBatch()
            var applied = Applied.ignored
            switch type {
            // Card payments complete paid; delayed methods complete unpaid and succeed later.
            case "checkout.session.completed" where paid, "checkout.session.async_payment_succeeded":
                switch try await service.depositPaid(
                    organizationID: organizationID, depositID: depositID, outbox: &outbox, now: now, in: tx)
                {
                case .confirmed: applied = .confirmed
                case .recorded: applied = .paid
                case .unconfirmed: applied = .unconfirmed
                case .unchanged: applied = .ignored
                }
            case "checkout.session.expired":
                // The hold itself is released by the deposit-expiry timer (escalation worker).
                if try await DepositsRepository.setStatus(
                    organizationID: organizationID, depositID: depositID, to: .expired, now: now, on: tx)
                {
                    applied = .expired
                }
            default: break
            }
            try await outbox.insert(on: tx, now: now)
            return applied
        }
        return .success(applied)
    }
}
