/// Status of one message delivery (`message_deliveries.status`).
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    /// Waiting for its time (`send_after`) or its next attempt.
    case queued
    /// Claimed by a sender (with a lease): a provider call may be under way.
    case sending
    /// The provider accepted it (its id is recorded).
    case sent
    /// The provider reports it delivered to the handset / mailbox.
    case delivered
    /// The carrier could not deliver it (provider status callback).
    case undelivered
    /// Permanently refused (invalid number, …) or out of attempts.
    case failed
    /// The number opted out (STOP) for the organization: not sent.
    case optedOut = "opted_out"
    /// Not sent: the case was booked, declined, cancelled or revoked before its time.
    case cancelled

    /// Order of the provider's progress; a status callback only moves a delivery forward.
    public var progress: Int {
        switch self {
        case .queued, .sending: 0
        case .sent: 1
        case .delivered, .undelivered, .failed, .optedOut, .cancelled: 2
        }
    }

    /// Twilio's `MessageStatus` in a status callback, as far as it concerns us.
    public init?(twilioStatus: String) {
        switch twilioStatus {
        case "sent": self = .sent
        case "delivered", "read": self = .delivered
        case "undelivered": self = .undelivered
        case "failed": self = .failed
        default: return nil
        }
    }
}
