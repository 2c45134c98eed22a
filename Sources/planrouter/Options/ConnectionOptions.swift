import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import Synchronization

struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp(
            "PostgreSQL connection: a postgresql:// URI or key=value conninfo; sslmode, sslrootcert etc. pass through to libpq.",
            discussion: "Env: PLANROUTER_DATABASE_URL. `scripts/services env` prints the local one."))
    var databaseURL: String?

    func resolved() throws -> String {
        if let u = databaseURL ?? Environment.value("PLANROUTER_DATABASE_URL") { return u }
        throw CLIError("no database given: set --database-url or PLANROUTER_DATABASE_URL (scripts/services up starts a local PostgreSQL)")
    }
}

struct KafkaOptions: ParsableArguments {
    @Option(name: .customLong("kafka-brokers"), help: "Bootstrap servers, host:port[,host:port]. Env: PLANROUTER_KAFKA_BROKERS.")
    var brokers: String?

    @Option(
        name: .customLong("kafka-bootstrap-file"),
        help: "Read the bootstrap servers from this file (written by `planrouter dev-broker`). Env: PLANROUTER_KAFKA_BOOTSTRAP_FILE.")
    var bootstrapFile: String?

    @Option(
        name: .customLong("kafka-property"),
        help: ArgumentHelp(
            "Any librdkafka property as key=value, repeatable (security.protocol, sasl.*, ssl.* ...).",
            discussion: "Env: PLANROUTER_KAFKA_PROPERTIES, comma-separated key=value pairs."))
    var properties: [String] = []

    @Option(
        name: .customLong("topic"),
        help: "Rename a topic, EVENT=TOPIC, repeatable (e.g. plan.accepted=prod.plan.accepted). Env: PLANROUTER_TOPICS, comma-separated.")
    var topics: [String] = []

    func resolvedBrokers() throws -> String { try Self.resolveBrokers(brokers, bootstrapFile: bootstrapFile) }

    func resolvedProperties() throws -> [String: String] { try Self.resolveProperties(properties) }

    /// Shared with commands that take the Kafka client options without `--topic` (`dlq replay`).
    static func resolveBrokers(_ brokers: String?, bootstrapFile: String?) throws -> String {
        if let b = brokers ?? Environment.value("PLANROUTER_KAFKA_BROKERS") { return b }
        if let path = bootstrapFile ?? Environment.value("PLANROUTER_KAFKA_BOOTSTRAP_FILE") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("bootstrap file \(path) not found: is the dev broker running? (scripts/services up)")
            }
            let b = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !b.isEmpty else { throw CLIError("bootstrap file \(path) is empty") }
            return b
        }
        throw CLIError("no Kafka brokers given: set --kafka-brokers, PLANROUTER_KAFKA_BROKERS or PLANROUTER_KAFKA_BOOTSTRAP_FILE")
    }

    static func resolveProperties(_ properties: [String]) throws -> [String: String] {
        var pairs = properties
        if let env = Environment.value("PLANROUTER_KAFKA_PROPERTIES") {
            pairs = env.split(separator: ",").map(String.init) + pairs
        }
        var out: [String: String] = [:]
        for p in pairs {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { throw CLIError("Kafka property \"\(p)\" is not key=value") }
            out[String(p[..<eq]).trimmingCharacters(in: .whitespaces)] = String(p[p.index(after: eq)...])
        }
        return out
    }

    func resolvedTopics() throws -> TopicNames {
        var pairs = topics
        if let env = Environment.value("PLANROUTER_TOPICS") { pairs = env.split(separator: ",").map(String.init) + pairs }
        var overrides: [EventType: String] = [:]
        for p in pairs {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let t = EventType(anyName: kv[0]) else {
                throw CLIError(
                    "topic override \"\(p)\" must be EVENT=TOPIC with EVENT one of \(EventType.allCases.map(\.name).joined(separator: ", "))"
                )
            }
            overrides[t] = kv[1]
        }
        return TopicNames(overrides: overrides)
    }
}

struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error. Env: PLANROUTER_LOG_LEVEL. Default: info.")
    var level: String?

    /// Workers log at info by default; one-shot commands only report errors, so a
    /// failure is the single line `reportingErrors` prints.
    func makeLogger(_ label: String, defaultLevel: Logger.Level = .info) throws -> Logger {
        let text = level ?? Environment.value("PLANROUTER_LOG_LEVEL") ?? defaultLevel.rawValue
        guard let l = Logger.Level(rawValue: text) else { throw CLIError("unknown log level \(text)") }
        LoggingBootstrap.once(level: l)
        var logger = Logger(label: label)
        logger.logLevel = l
        return logger
    }
}

/// swift-log can be bootstrapped once per process.
enum LoggingBootstrap {
    private static let done = Mutex(false)
    static func once(level: Logger.Level) {
        done.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            }
        }
    }
}
