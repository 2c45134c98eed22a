import Foundation
import PlanRouterCore
import PlanRouterMessaging

public struct NotifySettings: Sendable {
    /// Deliveries claimed per round.
    public var batchSize: Int = 100
    /// How long a claimed delivery stays this sender's; past it another sender takes it over
    /// (and asks the provider first whether the earlier call went through).
    public var lease: Duration = .seconds(60)
    /// Longest sleep between rounds when nothing was due.
    public var pollInterval: Duration = .milliseconds(200)
    /// Transient failures retry after `retryInitial`, doubling up to `retryMaximum`.
    public var retryInitial: Duration = .seconds(5)
    public var retryMaximum: Duration = .seconds(600)
    /// After this many attempts a delivery fails for good (`retries_exhausted`).
    public var maxAttempts: Int = 8
    /// Provider calls in flight at once (each sender's rate limit still applies).
    public var concurrency: Int = 16

    public init(
        batchSize: Int = 100, lease: Duration = .seconds(60), pollInterval: Duration = .milliseconds(200),
        retryInitial: Duration = .seconds(5), retryMaximum: Duration = .seconds(600), maxAttempts: Int = 8, concurrency: Int = 16
    ) {
        self.batchSize = batchSize
        self.lease = lease
        self.pollInterval = pollInterval
        self.retryInitial = retryInitial
        self.retryMaximum = retryMaximum
        self.maxAttempts = maxAttempts
        self.concurrency = concurrency
    }

    /// When attempt `attempt` (1 for the first) failed transiently, the wait before the next:
    /// `retryInitial · 2^(attempt-1)` capped at `retryMaximum`, drawn from [half, full] so
    /// senders that failed together do not retry together.
    public func retryDelay(afterAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let ceiling = min(retryInitial * (1 << min(max(attempt - 1, 0), 20)), retryMaximum)
        return ceiling * (0.5 + 0.5 * min(max(random, 0), 1))
    }
}

/// The adapter for an organization's channel, nil when the organization has none configured.
public struct ChannelAdapters: Sendable {
    let lookup: @Sendable (_ organizationID: String, _ channel: MessageChannel) -> (any ChannelAdapter)?

    public init(_ lookup: @escaping @Sendable (_ organizationID: String, _ channel: MessageChannel) -> (any ChannelAdapter)?) {
        self.lookup = lookup
    }

    /// Twilio and SMTP adapters from the configuration, built once.
    public init(configuration: MessagingConfiguration) {
        var sms: [String: any ChannelAdapter] = [:]
        var email: [String: any ChannelAdapter] = [:]
        for (id, org) in configuration.organizations {
            if let s = org.sms { sms[id] = TwilioSMSAdapter(settings: s) }
            if let e = org.email { email[id] = SMTPEmailAdapter(settings: e) }
        }
        let (smsByOrg, emailByOrg) = (sms, email)
        self.init { org, channel in
            switch channel {
            case .sms: smsByOrg[org] ?? smsByOrg["*"]
            case .email: emailByOrg[org] ?? emailByOrg["*"]
            }
        }
    }

    public func adapter(_ organizationID: String, _ channel: MessageChannel) -> (any ChannelAdapter)? { lookup(organizationID, channel) }
}
