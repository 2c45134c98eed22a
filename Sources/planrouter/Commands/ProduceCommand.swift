import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka

struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Publish NDJSON events (one CloudEvent, or with --wrap one bare data object, per line), validated against the schemas.",
        discussion: """
            Each line is validated against the envelope and the JSON Schema of its type (schemas/). Rejected lines are
            reported on stderr with their line number and reason and are not sent. Events are keyed by data.location_id
            and sent to the topic of their type. The command waits for every delivery report, prints
            "sent N, rejected N, failed N", and exits non-zero if any line was rejected or failed.
            Example: planrouter produce --wrap plan.accepted --source opendental/loc-12 plans.ndjson
            """)

    @Argument(help: "NDJSON file; '-' or nothing reads standard input.") var file: String?
    @Option(help: "Wrap bare data objects into envelopes of this event type (e.g. plan.accepted).") var wrap: String?
    @Option(help: "The CloudEvents source for --wrap, e.g. opendental/loc-12. Env: PLANROUTER_SOURCE.") var source: String?
    @Option(help: "Send to this topic instead of the type's topic.") var toTopic: String?
    @Option(help: "Messages sent per batch while waiting for delivery reports.") var batch: Int = 1000
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.produce", defaultLevel: .error)
            let wrapType: EventType? = try wrap.map {
                guard let t = EventType(anyName: $0) else {
                    throw CLIError("--wrap \($0): unknown event type; one of \(EventType.allCases.map(\.name).joined(separator: ", "))")
                }
                return t
            }
            let wrapSource = source ?? Environment.value("PLANROUTER_SOURCE")
            if wrapType != nil, wrapSource == nil { throw CLIError("--wrap needs --source (the connector, e.g. opendental/loc-12)") }
            let input = try openInput(file)
            let topics = try kafka.resolvedTopics()
            var props = try kafka.resolvedProperties()
            // A CLI should fail in seconds, not retry for librdkafka's default five minutes.
            if props["message.timeout.ms"] == nil { props["message.timeout.ms"] = "30000" }
            let producer = try KafkaProducer(bootstrapServers: try kafka.resolvedBrokers(), properties: props, logger: logger)
            try await producer.checkReachable(timeout: .seconds(10))
            let clock = WallClock()
            var pending: [KafkaOutgoingMessage] = []
            var sent = 0
            var rejected = 0
            var failed = 0
            func flush() async {
                guard !pending.isEmpty else { return }
                for r in await producer.sendBatch(pending) {
                    if case .failure(let e) = r {
                        failed += 1
                        if failed <= 10 { FileHandle.standardError.write(Data("delivery failed: \(e)\n".utf8)) }
                    } else {
                        sent += 1
                    }
                }
                pending.removeAll(keepingCapacity: true)
            }
            var lineNumber = 0
            for line in LineReader(input) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                do {
                    let event = try Self.event(from: line, wrap: wrapType, source: wrapSource, now: clock.now())
                    pending.append(
                        KafkaOutgoingMessage(
                            topic: toTopic ?? topics[event.type], key: event.locationID.map { Array($0.utf8) },
                            value: event.serializedBytes(),
                            headers: [KafkaHeader(key: "content-type", value: Array(CloudEvent.contentType.utf8))]))
                } catch let e as EventRejection {
                    rejected += 1
                    FileHandle.standardError.write(Data("line \(lineNumber): rejected: \(e.description)\n".utf8))
                }
                if pending.count >= batch { await flush() }
            }
            await flush()
            await producer.close()
            print("sent \(sent), rejected \(rejected), failed \(failed)")
            if rejected > 0 || failed > 0 { throw ExitCode.failure }
        }
    }

    static func event(from line: [UInt8], wrap: EventType?, source: String?, now: Date) throws(EventRejection) -> CloudEvent {
        let validator = EventValidator.shared
        guard let wrap, let source else { return try validator.decode(line) }
        guard line.count <= validator.maximumBytes else { throw EventRejection(.tooLarge, "line exceeds \(validator.maximumBytes) bytes") }
        let data: JSONValue
        do { data = try JSONParser.parse(line) } catch { throw EventRejection(.invalidJSON, error.description) }
        let errors = validator.validateData(data, as: wrap)
        guard errors.isEmpty else { throw EventRejection(.invalidData, errors.joined(separator: "; ")) }
        let envelope = CloudEvent(
            id: UUID().uuidString.lowercased(), source: source, type: wrap, time: now, subject: data["plan_id"]?.stringValue, data: data)
        return try validator.decode(envelope.json)
    }
}

/// The NDJSON input of a command: the file, or standard input for '-' or none.
func openInput(_ file: String?) throws -> FileHandle {
    guard let file, file != "-" else { return FileHandle.standardInput }
    guard let h = FileHandle(forReadingAtPath: file) else { throw CLIError("cannot read \(file)") }
    return h
}

/// Reads a file line by line as bytes (no UTF-8 decoding: invalid bytes are the validator's to report).
struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var start = 0
    var eof = false

    init(_ handle: FileHandle) { self.handle = handle }

    mutating func next() -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { eof = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
