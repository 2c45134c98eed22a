import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import ServiceLifecycle

struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run a local Kafka-protocol broker (librdkafka's mock cluster) with PlanRouter's topics, until SIGTERM/SIGINT.",
        discussion: """
            For development and tests only: in memory, nothing survives a restart. Ports are random, so the
            bootstrap list is written to --bootstrap-file and stdout; other processes read the file
            (PLANROUTER_KAFKA_BOOTSTRAP_FILE).
            """)

    @Option(help: "Number of brokers. Env: PLANROUTER_DEV_BROKERS.") var brokers: Int?
    @Option(help: "Partitions per topic. Env: PLANROUTER_DEV_PARTITIONS.") var partitions: Int?
    @Option(name: .customLong("bootstrap-file"), help: "Where to write the bootstrap list. Env: PLANROUTER_KAFKA_BOOTSTRAP_FILE.")
    var bootstrapFile: String?
    @Option(name: .customLong("extra-topic"), help: "Create this topic too, repeatable.") var extraTopics: [String] = []
    @Option(
        name: .customLong("control-socket"),
        help: ArgumentHelp(
            "Accept fault-injection commands on this Unix socket (see `planrouter dev-broker-ctl`). Env: PLANROUTER_DEV_BROKER_CONTROL.",
            discussion: "Brokers down/up, response delays and injected error codes, for fault drills such as scripts/chaos."))
    var controlSocket: String?
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.dev-broker")
            let brokerCount = brokers ?? Environment.value("PLANROUTER_DEV_BROKERS").flatMap(Int.init) ?? 3
            let partitionCount = partitions ?? Environment.value("PLANROUTER_DEV_PARTITIONS").flatMap(Int.init) ?? 6
            guard (1...16).contains(brokerCount), (1...256).contains(partitionCount) else {
                throw CLIError("--brokers must be 1...16 and --partitions 1...256")
            }
            let cluster = try KafkaMockCluster(brokers: brokerCount, logger: logger)
            defer { cluster.close() }
            for topic in TopicNames().all + extraTopics {
                try cluster.createTopic(topic, partitions: partitionCount, replicationFactor: min(3, brokerCount))
            }
            // Before the bootstrap file: whoever sees the file can use the socket.
            var control: DevBrokerControlSocket?
            if let path = controlSocket ?? Environment.value("PLANROUTER_DEV_BROKER_CONTROL") {
                let socket = try DevBrokerControlSocket(path: path) { line in
                    let reply = cluster.control(line)
                    logger.notice("dev broker control", metadata: ["command": "\(line)", "reply": "\(reply)"])
                    return reply
                }
                socket.start()
                control = socket
            }
            defer { control?.close() }
            let bootstrap = cluster.bootstrapServers
            let file = bootstrapFile ?? Environment.value("PLANROUTER_KAFKA_BOOTSTRAP_FILE")
            if let file {
                // Write then rename, so a reader never sees half a list.
                let tmp = file + ".tmp"
                try bootstrap.write(toFile: tmp, atomically: false, encoding: .utf8)
                _ = rename(tmp, file)
            }
            // Unbuffered, so a script reading our stdout sees the line at once.
            FileHandle.standardOutput.write(Data((bootstrap + "\n").utf8))
            logger.info("dev broker ready", metadata: ["bootstrap": "\(bootstrap)", "partitions": "\(partitionCount)"])
            let group = ServiceGroup(
                configuration: .init(services: [WaitForShutdown()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            if let file { try? FileManager.default.removeItem(atPath: file) }
            logger.info("dev broker stopped")
        }
    }
}

/// Holds a process open until SIGTERM/SIGINT.
struct WaitForShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
