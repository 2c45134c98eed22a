/// Line commands that drive the mock cluster's fault injection from outside the
/// process (`planrouter dev-broker --control-socket`, `planrouter dev-broker-ctl`):
///
///     broker-down ID                         the broker closes its connections and refuses new ones
///     broker-up ID
///     rtt ID MS                              every response of the broker waits MS milliseconds (0: off)
///     push-errors APIKEY CODE...             the next requests with APIKEY (any broker) fail with CODEs, in order
///     broker-push-errors ID APIKEY CODE:RTT...   same on one broker, each answered after RTT ms (CODE 0: no error)
///     ping
///
/// API keys are Kafka protocol request types (0 Produce, 1 Fetch, 8 OffsetCommit,
/// 11 JoinGroup, 12 Heartbeat, …); codes are Kafka error codes (e.g. 7
/// REQUEST_TIMED_OUT, 19 NOT_ENOUGH_REPLICAS).
public enum KafkaMockCommand: Equatable, Sendable {
    case brokerDown(Int32)
    case brokerUp(Int32)
    case rtt(broker: Int32, milliseconds: Int32)
    case pushErrors(apiKey: Int16, codes: [Int32])
    case brokerPushErrors(broker: Int32, apiKey: Int16, errors: [ErrorRTT])
    case ping

    public struct ErrorRTT: Equatable, Sendable {
        public var code: Int32
        public var rttMilliseconds: Int32

        public init(code: Int32, rttMilliseconds: Int32) {
            self.code = code
            self.rttMilliseconds = rttMilliseconds
        }
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static let usage =
        "broker-down ID | broker-up ID | rtt ID MS | push-errors APIKEY CODE... | broker-push-errors ID APIKEY CODE:RTT... | ping"

    /// Parses one line (words separated by spaces or tabs).
    public init(line: String) throws(ParseError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let verb = words.first else { throw ParseError(description: "empty command; one of: \(Self.usage)") }
        let args = Array(words.dropFirst())
        func count(_ n: Int, _ form: String) throws(ParseError) {
            guard args.count == n else { throw ParseError(description: "usage: \(form)") }
        }
        switch verb {
        case "broker-down":
            try count(1, "broker-down ID")
            self = .brokerDown(try Self.number(args[0], "broker id", 1...1024))
        case "broker-up":
            try count(1, "broker-up ID")
            self = .brokerUp(try Self.number(args[0], "broker id", 1...1024))
        case "rtt":
            try count(2, "rtt ID MS")
            self = .rtt(broker: try Self.number(args[0], "broker id", 1...1024), milliseconds: try Self.number(args[1], "rtt", 0...600_000))
        case "push-errors":
            guard args.count >= 2 else { throw ParseError(description: "usage: push-errors APIKEY CODE...") }
            let apiKey = Int16(try Self.number(args[0], "api key", 0...1000))
            var codes: [Int32] = []
            for a in args.dropFirst() { codes.append(try Self.number(a, "error code", -200...1000)) }
            self = .pushErrors(apiKey: apiKey, codes: codes)
        case "broker-push-errors":
            guard args.count >= 3 else { throw ParseError(description: "usage: broker-push-errors ID APIKEY CODE:RTT...") }
            let broker = try Self.number(args[0], "broker id", 1...1024)
            let apiKey = Int16(try Self.number(args[1], "api key", 0...1000))
            var errors: [ErrorRTT] = []
            for a in args.dropFirst(2) {
                let parts = a.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count <= 2 else { throw ParseError(description: "\(a): expected CODE:RTT") }
                errors.append(
                    ErrorRTT(
                        code: try Self.number(parts[0], "error code", -200...1000),
                        rttMilliseconds: parts.count == 2 ? try Self.number(parts[1], "rtt", 0...600_000) : 0))
            }
            self = .brokerPushErrors(broker: broker, apiKey: apiKey, errors: errors)
        case "ping":
            try count(0, "ping")
            self = .ping
        default:
            throw ParseError(description: "unknown command \(verb); one of: \(Self.usage)")
        }
    }

    private static func number(_ text: String, _ what: String, _ range: ClosedRange<Int32>) throws(ParseError) -> Int32 {
        guard let n = Int32(text), range.contains(n) else {
            throw ParseError(description: "\(what) must be an integer in \(range.lowerBound)...\(range.upperBound), not \(text)")
        }
        return n
    }
}

extension KafkaMockCluster {
    /// Applies one command.
    public func apply(_ command: KafkaMockCommand) throws {
        switch command {
        case .brokerDown(let id): try setBrokerDown(id)
        case .brokerUp(let id): try setBrokerUp(id)
        case .rtt(let id, let ms): try setBrokerRTT(id, milliseconds: ms)
        case .pushErrors(let apiKey, let codes): pushRequestErrors(apiKey: apiKey, errors: codes)
        case .brokerPushErrors(let id, let apiKey, let errors):
            try pushBrokerRequestErrors(id, apiKey: apiKey, errors: errors.map { ($0.code, $0.rttMilliseconds) })
        case .ping: break
        }
    }

    /// Parses and applies one line; the reply is `ok` or `error: <reason>`, one line.
    public func control(_ line: String) -> String {
        do {
            try apply(try KafkaMockCommand(line: line))
            return "ok"
        } catch {
            return "error: \(error)"
        }
    }
}
