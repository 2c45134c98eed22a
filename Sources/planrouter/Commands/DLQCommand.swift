import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterWorkers

struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Work with dead-letter topics.", subcommands: [Replay.self])

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-publish dead letters of a topic to it, after the cause is fixed.",
            discussion: """
                Reads <topic>.dlq from the beginning with a fresh consumer group (nothing is committed), keeps the records \
                whose dlq.time header (else the record timestamp) is in [--from, --to), and produces each one's original \
                bytes, key and headers (without the dlq.* headers) to <topic>. Prints one line per record with --dry-run, \
                then a summary; exits 1 if any delivery failed. Consumers skip an event id their inbox already holds: \
                see docs/operations.md for replaying events a handler refused.
                """)

        @Option(help: "The source topic whose dead letters to replay, e.g. plan.accepted (reads plan.accepted.dlq).")
        var topic: String
        @Option(help: "Only records written at or after this RFC 3339 time, e.g. 2026-11-28T09:00:00Z.")
        var from: String?
        @Option(help: "Only records written before this RFC 3339 time.")
        var to: String?
        @Flag(help: "List the records that would be replayed; publish nothing.")
        var dryRun = false
        @Option(help: "Seconds without a new record after which the DLQ counts as read to the end. Default: 5.")
        var idleTimeout: Int = 5

        @Option(name: .customLong("kafka-brokers"), help: "Bootstrap servers, host:port[,host:port]. Env: PLANROUTER_KAFKA_BROKERS.")
        var brokers: String?
        @Option(
            name: .customLong("kafka-bootstrap-file"),
            help: "Read the bootstrap servers from this file. Env: PLANROUTER_KAFKA_BOOTSTRAP_FILE.")
        var bootstrapFile: String?
        @Option(
            name: .customLong("kafka-property"),
            help: "Any librdkafka property as key=value, repeatable (security.protocol, sasl.* ...). Env: PLANROUTER_KAFKA_PROPERTIES.")
        var properties: [String] = []
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.dlq", defaultLevel: .error)
                func time(_ text: String?, _ name: String) throws -> Date? {
                    guard let text else { return nil }
                    guard let d = RFC3339.parse(text) else {
                        throw CLIError("\(name) must be an RFC 3339 time such as 2026-11-28T09:00:00Z, not \(text)")
                    }
                    return d
                }
                let replay = DeadLetterReplay(sourceTopic: topic, from: try time(from, "--from"), to: try time(to, "--to"))
                if let f = replay.from, let t = replay.to, f >= t { throw CLIError("--from must be before --to") }
                guard idleTimeout >= 1 else { throw CLIError("--idle-timeout must be at least 1 second") }
                let brokers = try KafkaOptions.resolveBrokers(brokers, bootstrapFile: bootstrapFile)
                let properties = try KafkaOptions.resolveProperties(properties)
                let consumer = try KafkaConsumer(
                    bootstrapServers: brokers, groupID: "planrouter-dlq-replay-\(UUID().uuidString.prefix(8))",
                    topics: [replay.deadLetterTopic],
                    properties: DeadLetterReplay.consumerDefaults.merging(properties) { _, mine in mine }, logger: logger)
                let letters = try await DeadLetterReplay.readAll(
                    consumer, idle: .seconds(idleTimeout), timeout: .seconds(max(60, idleTimeout * 4)))
                let selected = letters.filter(replay.selects)
                if dryRun {
                    for m in selected {
                        let when = DeadLetterReplay.time(of: m).map(RFC3339.format) ?? "-"
                        let key = m.key.map { String(decoding: $0, as: UTF8.self) } ?? "-"
                        let origin = [
                            DeadLetterReplay.header("dlq.source.partition", of: m), DeadLetterReplay.header("dlq.source.offset", of: m),
                        ]
                        .map { $0 ?? "?" }.joined(separator: ":")
                        let kind = DeadLetterReplay.header("dlq.kind", of: m) ?? "-"
                        let reason = oneLine(DeadLetterReplay.header("dlq.reason", of: m) ?? "")
                        print(
                            "\(replay.deadLetterTopic) \(m.partition):\(m.offset) time \(when) key \(key) from \(topic) \(origin) \(kind): \(reason)"
                        )
                    }
                    print("read \(letters.count), selected \(selected.count), replayed 0 (dry run)")
                    return
                }
                guard !selected.isEmpty else {
                    print("read \(letters.count), selected 0, replayed 0")
                    return
                }
                let producer = try KafkaProducer(bootstrapServers: brokers, properties: properties, logger: logger)
                let summary = await replay.publish(selected, read: letters.count, producer: producer)
                await producer.close()
                print("read \(summary.read), selected \(summary.selected), replayed \(summary.published), failed \(summary.failures.count)")
                if let first = summary.failures.first {
                    throw CLIError(
                        "\(summary.failures.count) of \(summary.selected) dead letters were not delivered to \(topic): \(first.error)")
                }
            }
        }
    }
}
