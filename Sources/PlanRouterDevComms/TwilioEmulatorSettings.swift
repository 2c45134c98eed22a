import Foundation

/// What the Twilio emulator accepts and where it calls back. **A local stand-in**, written
/// from Twilio's public documentation (docs/messaging.md says which parts are verified
/// against it and which are assumed); nothing in production links this module.
public struct TwilioEmulatorSettings: Sendable {
    /// Account SID → auth token. Requests must authenticate as one of them (HTTP Basic).
    public var accounts: [String: String]
    /// The sender numbers the accounts own; empty: any E.164 sender.
    public var senders: Set<String>
    /// Where texts from patients are POSTed (our `/webhooks/twilio/inbound`), signed with
    /// the token of `inboundAccount`.
    public var inboundWebhookURL: String?
    public var inboundAccount: String?
    /// Added to every Messages API call, to model a real provider's latency.
    public var latency: Duration
    /// Between the status callbacks (`sent`, then `delivered`).
    public var callbackDelay: Duration

    public init(
        accounts: [String: String], senders: Set<String> = [], inboundWebhookURL: String? = nil, inboundAccount: String? = nil,
        latency: Duration = .zero, callbackDelay: Duration = .milliseconds(20)
    ) {
        self.accounts = accounts
        self.senders = senders
        self.inboundWebhookURL = inboundWebhookURL
        self.inboundAccount = inboundAccount
        self.latency = latency
        self.callbackDelay = callbackDelay
    }

    /// Twilio's documented test numbers ("magic" `To` numbers of the test credentials) and the
    /// error each answers with.
    public static let magicRecipients: [String: (code: Int, message: String)] = [
        "+15005550001": (21211, "The 'To' number is not a valid phone number."),
        "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
        "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number."),
        "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
        "+15005550009": (21614, "'To' number is not a valid mobile number"),
    ]
}
