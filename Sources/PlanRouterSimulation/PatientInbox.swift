import Foundation
import PlanRouterCore

/// Where the simulated patients' phones and mailboxes are, and the groups of the workers that
/// reach them. Everything here is an **emulator** (a local stand-in; docs/simulation.md): the
/// Twilio emulator (`planrouter dev-comms`), the SMTP sink's mailbox directory
/// (scripts/lib/smtp_sink.py) and the Stripe emulator (`planrouter dev-payments`).
public struct PatientChannels: Sendable {
    /// The Twilio emulator's base URL: its emulator-only `GET /_emulator/messages` is the patients' phones,
    /// its `POST /_emulator/inbound` their texts to us (delivered, signed, to our inbound webhook).
    public var twilioEmulatorURL: String
    /// The SMTP sink's directory (`<n>.eml` per accepted message): the patients' mailboxes.
    public var smtpMailbox: String
    /// The Stripe emulator's base URL: the simulator moves its business clock with `sim_clock`
    /// (`POST /_emulator/clock`); patients pay on the checkout pages its sessions link to.
    public var stripeEmulatorURL: String
    /// Consumer groups (= inbox consumer names) of `worker notify` and `worker payments`, to know when they caught up.
    public var notifyGroup = "planrouter-notify"
    public var paymentsGroup = "planrouter-payments"

    public init(twilioEmulatorURL: String, smtpMailbox: String, stripeEmulatorURL: String) {
        self.twilioEmulatorURL = Self.trimmed(twilioEmulatorURL)
        self.smtpMailbox = smtpMailbox
        self.stripeEmulatorURL = Self.trimmed(stripeEmulatorURL)
    }

    static func trimmed(_ url: String) -> String { url.hasSuffix("/") ? String(url.dropLast()) : url }
}

/// One text or email a simulated patient received.
public struct ReceivedMessage: Sendable, Hashable {
    public enum Channel: String, Sendable { case sms, email }
    public var channel: Channel
    /// The patient's number or address.
    public var to: String
    /// Our sender (the number a reply goes to; for email, the From header).
    public var from: String
    public var body: String
    /// A TwiML answer to the patient's own text (Twilio: `outbound-reply`), not a message the pipeline sent.
    public var isReplyAnswer: Bool

    public init(channel: Channel, to: String, from: String, body: String, isReplyAnswer: Bool = false) {
        self.channel = channel
        self.to = to
        self.from = from
        self.body = body
        self.isReplyAnswer = isReplyAnswer
    }

    /// Every http(s) link in the body, trailing punctuation removed.
    public var links: [String] {
        body.split(whereSeparator: { $0.isWhitespace }).compactMap { word -> String? in
            guard word.hasPrefix("http://") || word.hasPrefix("https://") else { return nil }
            var link = Substring(word)
            while let last = link.last, ".,;:!?)\"'>".contains(last) { link = link.dropLast() }
            return String(link)
        }
    }

    /// The token of a booking link (`…/book/{token}`).
    public var bookingToken: String? {
        links.first { $0.contains("/book/") }.flatMap { $0.split(separator: "/").last.map(String.init) }
    }

    /// A Checkout page of the Stripe emulator (`…/pay/{session}`).
    public var checkoutURL: String? { links.first { $0.contains("/pay/") } }
}

/// Reads what the patients received since the last look: texts from the Twilio emulator's log (by
/// position), emails from the SMTP sink's directory (by file number). Pure reading: the caller keeps
/// the cursors, so the same inbox serves the simulator actor and the tests.
public struct PatientInbox: Sendable {
    public struct Cursor: Sendable, Hashable {
        public var sms = 0
        public var email = 0
        public init() {}
    }

    public let channels: PatientChannels

    public init(channels: PatientChannels) { self.channels = channels }

    /// Messages received after `cursor`, oldest first per channel, and the cursor to pass next time.
    public func fetch(after cursor: Cursor) async throws -> (messages: [ReceivedMessage], next: Cursor) {
        var next = cursor
        let (texts, smsNext) = try await texts(after: cursor.sms)
        next.sms = smsNext
        let (mail, emailNext) = try emails(after: cursor.email)
        next.email = emailNext
        return (texts + mail, next)
    }

    func texts(after position: Int) async throws -> ([ReceivedMessage], Int) {
        let listed = try await SimulationHTTP.send("GET", "\(channels.twilioEmulatorURL)/_emulator/messages?after=\(position)")
        guard listed.status == 200, let page = try? JSONParser.parse(listed.body) else {
            throw SimulationError(description: "the Twilio emulator at \(channels.twilioEmulatorURL) did not list its messages")
        }
        let messages = (page["messages"]?.arrayValue ?? []).compactMap { m -> ReceivedMessage? in
            guard let to = m["to"]?.stringValue, let from = m["from"]?.stringValue, let text = m["body"]?.stringValue else { return nil }
            return ReceivedMessage(
                channel: .sms, to: to, from: from, body: text, isReplyAnswer: m["direction"]?.stringValue == "outbound-reply")
        }
        return (messages, page["next"]?.int64Value.map(Int.init) ?? position)
    }

    /// `<n>.eml` files numbered above `after` (the sink writes each whole, under its final name, last).
    func emails(after number: Int) throws -> ([ReceivedMessage], Int) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: channels.smtpMailbox)) ?? []
        let numbers = names.compactMap { $0.hasSuffix(".eml") ? Int($0.dropLast(4)) : nil }.filter { $0 > number }.sorted()
        var out: [ReceivedMessage] = []
        for n in numbers {
            let path = URL(fileURLWithPath: channels.smtpMailbox).appendingPathComponent("\(n).eml").path
            guard let data = FileManager.default.contents(atPath: path), let m = Self.parseEmail(String(decoding: data, as: UTF8.self))
            else { continue }
            out.append(m)
        }
        return (out, numbers.last ?? number)
    }

    /// A plain-text message as the notify worker writes it (8bit, text/plain): headers, a blank line, the body.
    static func parseEmail(_ raw: String) -> ReceivedMessage? {
        let text = raw.replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = text.range(of: "\n\n") else { return nil }
        var headers: [String: String] = [:]
        for line in text[..<split.lowerBound].split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let to = headers["to"].flatMap(address) else { return nil }
        return ReceivedMessage(channel: .email, to: to, from: headers["from"] ?? "", body: String(text[split.upperBound...]))
    }

    /// The address of `Name <a@b>` or `a@b`.
    static func address(_ header: String) -> String? {
        if let open = header.lastIndex(of: "<"), let close = header.lastIndex(of: ">"), open < close {
            return String(header[header.index(after: open)..<close])
        }
        let bare = header.trimmingCharacters(in: .whitespaces)
        return bare.contains("@") ? bare : nil
    }
}
