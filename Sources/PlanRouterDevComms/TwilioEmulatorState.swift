import Foundation
import PlanRouterCore

/// One message the emulator holds, in Twilio's Message resource shape.
public struct EmulatedMessage: Sendable, Hashable {
    public var sid: String
    public var accountSID: String
    public var from: String
    public var to: String
    public var body: String
    public var status: String
    /// `outbound-api` (sent through the API), `outbound-reply` (a TwiML reply), `inbound`.
    public var direction: String
    public var statusCallback: String?
    public var dateCreated: Date
    public var errorCode: Int?

    func resource() -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("sid", sid)
        b.set("account_sid", accountSID)
        b.set("api_version", "2010-04-01")
        b.set("body", body)
        b.set("date_created", TwilioEmulatorState.rfc2822(dateCreated))
        b.set("date_updated", TwilioEmulatorState.rfc2822(dateCreated))
        b.set("date_sent", status == "queued" ? nil : TwilioEmulatorState.rfc2822(dateCreated))
        b.set("direction", direction)
        b.set("error_code", errorCode.map { Int64($0) })
        b.set("from", from)
        b.set("to", to)
        b.set("num_media", "0")
        b.set("num_segments", String(max(1, (body.count + 152) / 153)))
        b.set("price_unit", "USD")
        b.set("status", status)
        b.set("uri", "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid).json")
        return b.value
    }
}

/// The emulator's memory: messages, opt-outs, injected faults. An actor: HTTP handlers and
/// callback tasks reach it concurrently.
public actor TwilioEmulatorState {
    public private(set) var messages: [EmulatedMessage] = []
    /// (patient number, our sender) pairs that texted STOP: sends between them fail with 21610,
    /// as Twilio's Advanced Opt-Out does.
    private var optedOut: Set<[String]> = []
    /// HTTP statuses the next create calls answer with (a transient provider outage).
    private var faults: [Int] = []
    /// Messages API create calls, accepted or not.
    public private(set) var createCalls = 0

    public init() {}

    public func nextFault() -> Int? {
        createCalls += 1
        return faults.isEmpty ? nil : faults.removeFirst()
    }

    public func injectFaults(status: Int, count: Int) { faults += Array(repeating: status, count: count) }

    public func isOptedOut(patient: String, sender: String) -> Bool { optedOut.contains([patient, sender]) }

    public func setOptedOut(patient: String, sender: String, _ out: Bool) {
        if out { optedOut.insert([patient, sender]) } else { optedOut.remove([patient, sender]) }
    }

    public func add(_ m: EmulatedMessage) { messages.append(m) }

    public func setStatus(_ sid: String, _ status: String) -> EmulatedMessage? {
        guard let i = messages.firstIndex(where: { $0.sid == sid }) else { return nil }
        messages[i].status = status
        return messages[i]
    }

    public func message(_ sid: String) -> EmulatedMessage? { messages.first { $0.sid == sid } }

    /// What a number received (API sends and TwiML replies to it), oldest first.
    public func inbox(_ number: String) -> [EmulatedMessage] { messages.filter { $0.to == number && $0.direction != "inbound" } }

    /// Messages to patients (not the texts they sent) at positions `after...` of the emulator's log, and
    /// the position after the last one: a reader that passes it back sees each message once.
    public func sentToPatients(after: Int) -> (messages: [EmulatedMessage], next: Int) {
        let start = min(max(0, after), messages.count)
        return (messages[start...].filter { $0.direction != "inbound" }, messages.count)
    }

    static func newSID() -> String { "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    static func rfc2822(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: d)
    }
}
