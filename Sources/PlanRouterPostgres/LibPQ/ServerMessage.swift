/// Keeps input values out of server error messages before they reach `description`.
///
/// PostgreSQL puts key values in DETAIL (which we never show), but data-exception messages
/// (class 22) quote the offending input in the primary message, e.g.
/// `invalid input syntax for type integer: "abc"`.
enum ServerMessage {
    static func redact(_ message: String, sqlState: String, binds: [PostgresBind]) -> String {
        var message = message
        if sqlState.hasPrefix("22") {
            message = redactQuoted(message)
        }
        // Any other message quoting a parameter verbatim loses it too.
        for bind in binds {
            guard let text = bind.text, !text.isEmpty else { continue }
            message = message.replacingAll("\"\(text)\"", with: "\"<redacted>\"")
        }
        return message
    }

    private static func redactQuoted(_ message: String) -> String {
        var result = ""
        var inQuote = false
        for character in message {
            if character == "\"" {
                if inQuote { result += "<redacted>\"" } else { result.append(character) }
                inQuote.toggle()
            } else if !inQuote {
                result.append(character)
            }
        }
        if inQuote { result += "<redacted>" }
        return result
    }
}
