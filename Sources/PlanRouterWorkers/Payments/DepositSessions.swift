import Foundation
import Logging
import PlanRouterCore
import PlanRouterMessaging
import PlanRouterPostgres
import PlanRouterStore
import ServiceLifecycle

public struct DepositSessionSettings: Sendable {
    /// Deposits claimed per round.
    public var batchSize: Int = 50
    /// How long a claimed deposit is left alone by other payments workers while its call runs.
    public var lease: Duration = .seconds(60)
    public var pollInterval: Duration = .seconds(1)
    /// Wait after a failed call (doubling per attempt, at most 10 minutes).
    public var retry: Duration = .seconds(5)
    public init() {}
}

/// The calling half of `planrouter worker payments`: creates the Stripe Checkout Session of each
/// requested deposit and records its id and URL, with the patient's message carrying the URL
/// (through the outbox), in one transaction.
///
/// At most one session per deposit: the claim moves the deposit's next attempt past a lease
/// before the call, and the call's `Idempotency-Key` is the deposit id, so a retry after a
/// crash or a timeout gets the first call's session back from Stripe (Stripe keeps keys 24 h).
public final class DepositSessions: Service {
    let pool: PostgresPool
    let configuration: MessagingConfiguration
    let clock: any PlanRouterClock
    let settings: DepositSessionSettings
    let topics: TopicNames
    let logger: Logger

    public init(
        pool: PostgresPool, configuration: MessagingConfiguration, clock: any PlanRouterClock, settings: DepositSessionSettings = .init(),
        topics: TopicNames = .init(), logger: Logger
    ) {
        self.pool = pool
        self.configuration = configuration
        self.clock = clock
        self.settings = settings
        self.topics = topics
        var l = logger
        l[metadataKey: "worker"] = "payments"
        self.logger = l
    }

    public func run() async throws {
        logger.info("deposit sessions started")
        try await PollingLoop.run(
            name: "deposit sessions", batchSize: settings.batchSize, pollInterval: settings.pollInterval, logger: logger, round: createDue)
        logger.info("deposit sessions stopped")
    }

    /// One round: claim deposits without a session, call Stripe, record. Returns how many were claimed.
    @discardableResult
    public func createDue() async throws -> Int {
        let now = try await clock.now()
        let claimed = try await pool.withTransaction { tx in
            try await DepositsRepository.claimNeedingSession(limit: self.settings.batchSize, lease: self.settings.lease, now: now, on: tx)
        }
        for d in claimed { try await create(d, now: now) }
        return claimed.count
    }

    func create(_ d: DepositForSession, now: Date) async throws {
        guard let payments = configuration.organization(d.key.organizationID)?.payments else {
            try await failed(d, "no_payments_configured", now: now)
            return
        }
        let request = CheckoutRequest(
            depositID: d.depositID, organizationID: d.key.organizationID, planID: d.key.planID, amountCents: d.amountCents,
            currency: d.currency, productName: "Deposit for your visit at \(d.locationName.isEmpty ? "the practice" : d.locationName)",
            expiresAt: StripeCheckoutClient.expiresAt(dueBy: d.dueBy, now: now))
        switch await StripeCheckoutClient(settings: payments).createSession(request) {
        case .created(let sessionID, let url):
            try await pool.withTransaction(scopedTo: .organization(d.key.organizationID)) { tx in
                guard try await DepositsRepository.recordSession(d.key, depositID: d.depositID, sessionID: sessionID, url: url, on: tx)
                else { return }
                var outbox = OutboxBatch()
                if let m = self.message(d, url: url, now: now) { outbox.append(m, topic: self.topics[.patientMessages]) }
                try await outbox.insert(on: tx, now: now)
            }
            logger.debug("checkout session created", metadata: ["deposit.id": "\(d.depositID)"])
        case .transient(let errorClass), .permanent(let errorClass):
            // A permanent refusal is retried too (slowly): it is a configuration the operator fixes.
            try await failed(d, errorClass, now: now)
        }
    }

    func failed(_ d: DepositForSession, _ errorClass: String, now: Date) async throws {
        let seconds = min(600, Double(settings.retry.components.seconds) * pow(2, Double(max(0, d.attempts - 1))))
        logger.warning(
            "checkout session not created; retrying later", metadata: ["deposit.id": "\(d.depositID)", "error": "\(errorClass)"])
        try await pool.withTransaction(scopedTo: .organization(d.key.organizationID)) { tx in
            try await DepositsRepository.sessionFailed(
                d.key, depositID: d.depositID, error: errorClass, retryAt: now.addingTimeInterval(seconds), on: tx)
        }
    }

    /// The patient's message with the checkout URL; nil when the patient has no channel.
    func message(_ d: DepositForSession, url: String, now: Date) -> CloudEvent? {
        guard let channel = PatientContact.channel(d.patient), let kind = MessageChannel(rawValue: channel.name) else { return nil }
        let firstName = d.patient["first_name"]?.stringValue ?? "there"
        let amount = MessageTemplates.dollars(d.amountCents)
        let body =
            d.policy == .depositToConfirm
            ? "Hi \(firstName), we are holding your visit. Pay the \(amount) deposit to confirm it: \(url)"
            : "Hi \(firstName), your visit is booked. Please pay the \(amount) deposit here: \(url)"
        let m = PatientMessage(
            messageID: "deposit-\(d.depositID)", organizationID: d.key.organizationID, locationID: d.locationID, planID: d.key.planID,
            patientID: d.patientID, channel: kind, to: channel.to, kind: .deposit,
            subject: kind == .email ? "Your deposit" : nil, body: body, link: url)
        return CloudEvent(id: m.messageID, source: "planrouter/payments", time: now, subject: d.key.planID, data: m)
    }
}
