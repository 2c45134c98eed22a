import Foundation
import PlanRouterCore

/// Email through an SMTP relay. SMTP has no message lookup, so an attempt whose outcome is
/// unknown (the connection broke after the final `.` of DATA) cannot be confirmed:
/// docs/messaging.md states that residual risk of a second copy.
public struct SMTPEmailAdapter: ChannelAdapter {
    public let client: SMTPClient
    /// The subject when the message has none.
    public let defaultSubject: String
    let timeout: Duration

    public init(settings: MessagingConfiguration.Email, defaultSubject: String = "Your appointment", timeout: Duration = .seconds(30)) {
        self.client = SMTPClient(settings: settings)
        self.defaultSubject = defaultSubject
        self.timeout = timeout
    }

    public var senderKey: String { "email:\(client.settings.host):\(client.settings.username ?? "")" }
    public var ratePerSecond: Double { client.settings.ratePerSecond }

    public func send(_ m: OutgoingMessage) async -> SendOutcome {
        let mail = EmailMessage(
            from: client.settings.from, to: m.to, subject: m.subject ?? defaultSubject, body: m.body, messageID: m.messageID, date: Date(),
            calendar: m.calendar)
        let client = self.client
        let timeout = self.timeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.send(mail) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw SMTPError(code: nil, step: "timeout", afterData: false)
                }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch let e as SMTPError {
            return Self.outcome(e)
        } catch {
            return .transient(errorClass: "connection")
        }
        // SMTP gives no id of its own; the Message-ID header carries ours.
        return .accepted(providerID: "<\(m.messageID)@planrouter>")
    }

    /// 5xx to the recipient or the message is final; authentication and every 4xx are not
    /// (an operator fixes credentials; a 4xx asks to come back later).
    public static func outcome(_ e: SMTPError) -> SendOutcome {
        guard let code = e.code else { return .transient(errorClass: e.step == "timeout" ? "timeout" : "smtp_\(e.step)") }
        let errorClass = "smtp_\(code)"
        if (500..<600).contains(code) && (e.step == "rcpt" || e.step == "data" || e.step == "mail") && code != 530 {
            return .permanent(errorClass: errorClass)
        }
        return .transient(errorClass: errorClass)
    }

    public func findAccepted(_ message: OutgoingMessage, since: Date) async throws -> String? { nil }
}
