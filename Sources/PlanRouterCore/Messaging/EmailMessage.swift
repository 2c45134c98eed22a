import Foundation

/// A plain-text email as SMTP's DATA carries it (RFC 5322 headers, CRLF line ends,
/// dot-stuffed per RFC 5321 §4.5.2), without the terminating `.` line.
public struct EmailMessage: Sendable, Hashable {
    public var from: String
    public var to: String
    public var subject: String
    public var body: String
    /// Our message id, so the recipient's copy names the delivery (`<id@planrouter>`).
    public var messageID: String
    public var date: Date
    /// An iCalendar file (RFC 5545) to attach as `appointment.ics`: the body becomes the first part of
    /// a multipart/mixed message, the file the second (base64, so its CRLF lines and long folded
    /// lines pass any relay unchanged).
    public var calendar: String?

    public init(from: String, to: String, subject: String, body: String, messageID: String, date: Date, calendar: String? = nil) {
        self.calendar = calendar
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.date = date
    }

    /// The bare address of a `Name <address>` header value (the envelope needs it).
    public static func address(_ mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close])
        }
        return mailbox.trimmingCharacters(in: .whitespaces)
    }

    /// The DATA payload: headers, a blank line, the body; every line ending CRLF and every line
    /// starting with `.` given one more.
    public var data: String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let headers = [
            "From: \(Self.headerSafe(from))",
            "To: \(Self.headerSafe(to))",
            "Subject: \(Self.encodedSubject(subject))",
            "Date: \(f.string(from: date))",
            "Message-ID: <\(Self.headerSafe(messageID))@planrouter>",
            "MIME-Version: 1.0",
        ]
        let text = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        let bodyLines = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        guard let calendar else { return (headers + text + [""] + bodyLines).joined(separator: "\r\n") + "\r\n" }
        // The boundary cannot occur in a part: base64 lines have no '_', and the text is ours.
        let boundary = "=_planrouter_\(Self.headerSafe(messageID).filter { $0.isLetter || $0.isNumber })"
        let encoded = Data(calendar.utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        var lines = headers + ["Content-Type: multipart/mixed; boundary=\"\(boundary)\"", "", "--\(boundary)"] + text + [""] + bodyLines
        lines += [
            "--\(boundary)", "Content-Type: text/calendar; charset=utf-8; method=PUBLISH; name=\"appointment.ics\"",
            "Content-Transfer-Encoding: base64", "Content-Disposition: attachment; filename=\"appointment.ics\"", "",
        ]
        lines += encoded.components(separatedBy: "\r\n")
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// No CR or LF in a header value: a value can never add a header.
    static func headerSafe(_ s: String) -> String {
        s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    /// RFC 2047 encoded-word for a subject that is not plain ASCII.
    static func encodedSubject(_ s: String) -> String {
        let safe = headerSafe(s)
        if safe.unicodeScalars.allSatisfy({ $0.isASCII }) { return safe }
        return "=?utf-8?B?\(Data(safe.utf8).base64EncodedString())?="
    }
}
