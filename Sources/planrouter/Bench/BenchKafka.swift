import ArgumentParser
import Foundation
import Logging
import PlanRouterKafka

struct BenchKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Kafka produce/consume messages/s.",
        discussion: """
            Produces N keyed messages with the idempotent producer (acks=all), counting a \
            message only once its delivery report confirms it, then consumes them with a \
            group consumer that marks every batch done and commits it, as the workers do. \
            Without --brokers or PLANROUTER_KAFKA_BROKERS it starts librdkafka's in-process \
            mock cluster (3 brokers), which measures the client, not a real broker.
            """
    )

    @Option(help: "Bootstrap servers (host:port,...). Env: PLANROUTER_KAFKA_BROKERS. Default: an in-process mock cluster.")
    var brokers: String?

    @Option(help: "Messages to produce and consume.")
    var messages: Int = 200_000

    @Option(help: "Value size in bytes.")
    var size: Int = 512

    @Option(help: "Topic to use. Must exist on a real cluster unless it auto-creates topics. Default: a fresh name.")
    var topic: String?

    @Option(
        help:
            "Partitions of the topic created on the mock cluster. Default: enough that the mock keeps every message (it keeps about 5 MB per partition and drops older data)."
    )
    var partitions: Int?

    @Option(help: "Messages per sendBatch call.")
    var chunk: Int = 10_000

    @Option(help: "sendBatch calls in flight at once.")
    var inFlight: Int = 4

    func validate() throws {
        guard messages > 0, size >= 0, chunk > 0, inFlight > 0, (partitions ?? 1) > 0 else {
            throw ValidationError("--messages, --chunk, --in-flight and --partitions must be positive; --size not negative")
        }
    }

    func run() async throws {
        var logger = Logger(label: "planrouter.bench.kafka")
        logger.logLevel = .warning
        let topic = self.topic ?? "planrouter-bench-\(UUID().uuidString.prefix(8))"

        var mock: KafkaMockCluster?
        let bootstrap: String
        var consumerProperties: [String: String] = [:]
        if let configured = brokers ?? ProcessInfo.processInfo.environment["PLANROUTER_KAFKA_BROKERS"], !configured.isEmpty {
            bootstrap = configured
            benchPrint("brokers: \(bootstrap)")
        } else {
            // The mock caps each partition's log at 5 MB and silently drops the oldest data
            // beyond it, so spread the run over enough partitions to keep all of it.
            let bytesPerMessage = size + 80
            let partitions = self.partitions ?? max(8, (messages * bytesPerMessage) / 4_000_000 + 1)
            let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
            try cluster.createTopic(topic, partitions: partitions)
            mock = cluster
            bootstrap = cluster.bootstrapServers
            // The mock holds every rebalance for session.timeout.ms - 1 s.
            consumerProperties["session.timeout.ms"] = "6000"
            benchPrint(
                "brokers: none given (--brokers / PLANROUTER_KAFKA_BROKERS); started an in-process librdkafka mock cluster (3 brokers, \(partitions) partitions) at \(bootstrap)"
            )
        }
        defer { mock?.close() }
        benchPrint("topic: \(topic), messages: \(messages), value size: \(size) B, chunk: \(chunk), in flight: \(inFlight)")

        // Produce.
        let producer = try KafkaProducer(bootstrapServers: bootstrap, logger: logger)
        let value = [UInt8](repeating: 0x61, count: size)
        let clock = ContinuousClock()
        let produceStart = clock.now
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            var failures = 0
            var next = 0
            func submit() {
                let range = next..<min(next + chunk, messages)
                next = range.upperBound
                let batch = range.map { index in
                    KafkaOutgoingMessage(topic: topic, key: Array("key-\(index)".utf8), value: value)
                }
                group.addTask {
                    await producer.sendBatch(batch).reduce(0) { count, result in
                        if case .failure = result { return count + 1 } else { return count }
                    }
                }
            }
            while next < messages && next < chunk * inFlight { submit() }
            while let failed = try await group.next() {
                failures += failed
                if next < messages { submit() }
            }
            return failures
        }
        let produceTime = produceStart.duration(to: clock.now)
        await producer.close()
        let delivered = messages - failures
        benchPrint(
            String(
                format: "produce: %d delivered, %d failed in %.2f s = %.0f msgs/s (%.1f MB/s values)",
                delivered, failures, produceTime.seconds, Double(delivered) / produceTime.seconds,
                Double(delivered * size) / produceTime.seconds / 1_000_000))

        // Consume: timed from the first message, so the group join is reported separately.
        let consumer = try KafkaConsumer(
            bootstrapServers: bootstrap, groupID: "planrouter-bench-\(UUID().uuidString.prefix(8))", topics: [topic],
            properties: consumerProperties, logger: logger)
        let joinStart = clock.now
        var consumed = 0
        var firstMessage: ContinuousClock.Instant?
        var idleSince = clock.now
        while consumed < delivered {
            let batch = try await consumer.poll(maxMessages: 5_000, timeout: .milliseconds(500))
            if batch.isEmpty {
                if idleSince.duration(to: clock.now) > .seconds(60) {
                    benchPrint("consume: gave up after 60 s without messages")
                    break
                }
                continue
            }
            idleSince = clock.now
            if firstMessage == nil { firstMessage = clock.now }
            consumed += batch.count
            consumer.markDone(batch)
            try await consumer.commitDone()
        }
        let end = clock.now
        await consumer.close()
        if let firstMessage {
            let consumeTime = firstMessage.duration(to: end)
            benchPrint(
                String(
                    format:
                        "consume: %d messages in %.2f s = %.0f msgs/s (group join took %.2f s, not counted; mark done + commit per batch)",
                    consumed, consumeTime.seconds, Double(consumed) / consumeTime.seconds,
                    joinStart.duration(to: firstMessage).seconds))
        }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
