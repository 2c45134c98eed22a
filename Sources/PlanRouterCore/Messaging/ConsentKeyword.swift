/// What an inbound text asks for, by the carriers' and Twilio's standard keywords
/// (Twilio's Advanced Opt-Out defaults): the whole message, trimmed, case-insensitive.
public enum ConsentKeyword: Sendable, Hashable {
    case optOut
    case optIn
    case help

    public static let optOutWords: Set<String> = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
    public static let optInWords: Set<String> = ["START", "UNSTOP", "YES"]
    public static let helpWords: Set<String> = ["HELP", "INFO"]

    /// nil: not a keyword (a reply the coordinator should read).
    public init?(message: String) {
        let word = message.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).uppercased()
        if Self.optOutWords.contains(word) {
            self = .optOut
        } else if Self.optInWords.contains(word) {
            self = .optIn
        } else if Self.helpWords.contains(word) {
            self = .help
        } else {
            return nil
        }
    }
}

/// Text-message wording the carriers expect.
public enum SMSWording {
    public static let optOutLine = "Reply STOP to opt out."
    /// Twilio's limit for one message body.
    public static let maximumLength = 1600

    /// The first text to a number carries the opt-out line (unless the body already says STOP);
    /// the body is shortened, never the line, when both do not fit.
    public static func firstText(_ body: String) -> String {
        if body.uppercased().contains("STOP") { return body }
        let suffix = "\n" + optOutLine
        return String(body.prefix(maximumLength - suffix.count)) + suffix
    }

    /// The answer to HELP: who is texting and how to reach them.
    public static func help(practiceName: String, practicePhone: String?) -> String {
        var s = "\(practiceName): appointment messages."
        if let phone = practicePhone { s += " Call \(phone) for help." }
        return s + " " + optOutLine
    }
}
