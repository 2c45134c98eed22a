import Logging
import PlanRouterKafka
import Testing

/// Client configuration checks: librdkafka validates properties when the handle is
/// created, so no broker is needed.
@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    static var logger: Logger {
        var logger = Logger(label: "planrouter.kafka.test")
        logger.logLevel = .warning
        return logger
    }

    @Test("an unknown property fails with .configuration naming it")
    func badProperty() throws {
        do {
            _ = try KafkaProducer(
                bootstrapServers: "localhost:9092", properties: ["no.such.property": "1"], logger: Self.logger)
            Issue.record("expected a configuration error")
        } catch let error as KafkaError {
            #expect(error.code == .configuration)
            #expect(error.message.contains("no.such.property"))
        }
        do {
            _ = try KafkaConsumer(
                bootstrapServers: "localhost:9092", groupID: "g", topics: ["t"],
                properties: ["session.timeout.ms": "not-a-number"], logger: Self.logger)
            Issue.record("expected a configuration error")
        } catch let error as KafkaError {
            #expect(error.code == .configuration)
            #expect(error.message.contains("session.timeout.ms"))
            #expect(!error.description.contains("not-a-number"))
        }
    }
}
