import Foundation

/// One message for a channel adapter to hand to its provider. Carries PHI: never logged.
public struct OutgoingMessage: Sendable, Hashable {
    /// Our delivery row (the status callback URL names it).
    public var deliveryID: Int64
    /// The dedupe key of the message (`patient.messages` `message_id`).
    public var messageID: String
    public var to: String
    public var subject: String?
    public var body: String
    /// The organization of the delivery row: the status callback names it too, so the callback's
    /// transaction is scoped to it (row-level security; the signature covers the URL).
    public var organizationID: String
    /// A confirmation's iCalendar file: email attaches it, SMS ignores it (its text carries the link).
    public var calendar: String?

    public init(
        deliveryID: Int64, organizationID: String, messageID: String, to: String, subject: String? = nil, body: String,
        calendar: String? = nil
    ) {
        self.calendar = calendar
        self.deliveryID = deliveryID
        self.organizationID = organizationID
        self.messageID = messageID
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// What a provider call came to. `errorClass` names the class and the provider's code
/// (`twilio_21211`, `http_503`, `smtp_550`, `timeout`): never an address or any content.
public enum SendOutcome: Sendable, Hashable {
    /// The provider took the message; its id.
    case accepted(providerID: String)
    /// The provider refuses the number because it opted out (Twilio 21610).
    case optedOut(errorClass: String)
    /// Final: sending again cannot help (invalid number, mailbox does not exist).
    case permanent(errorClass: String)
    /// Try again later. The call may or may not have reached the provider (a timeout), so
    /// the next attempt asks the provider first (`findAccepted`).
    case transient(errorClass: String)
}

/// A provider for one channel and sender (Twilio's Messages API, an SMTP relay).
public protocol ChannelAdapter: Sendable {
    /// Rate limits are per sender: a Twilio number, an SMTP relay account.
    var senderKey: String { get }
    var ratePerSecond: Double { get }
    func send(_ message: OutgoingMessage) async -> SendOutcome
    /// After an attempt whose outcome is unknown (the worker died, or the call timed out):
    /// the provider's id of a message it accepted for this one since `since`, nil when it has
    /// none. Throws when the provider cannot be asked now (the caller retries later).
    func findAccepted(_ message: OutgoingMessage, since: Date) async throws -> String?
}
