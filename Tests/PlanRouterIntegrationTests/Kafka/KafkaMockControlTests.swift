import Foundation
import Testing

@testable import PlanRouterKafka

/// The line commands of the dev broker's control socket, parsed and applied to a real mock cluster.
@Suite("Kafka mock cluster control")
struct KafkaMockControlTests {
    typealias Support = KafkaTestSupport

    @Test("every command form parses")
    func parses() throws {
        #expect(try KafkaMockCommand(line: "broker-down 2") == .brokerDown(2))
        #expect(try KafkaMockCommand(line: "broker-up 2") == .brokerUp(2))
        #expect(try KafkaMockCommand(line: "  rtt 3\t250 ") == .rtt(broker: 3, milliseconds: 250))
        #expect(try KafkaMockCommand(line: "push-errors 0 19 19 7") == .pushErrors(apiKey: 0, codes: [19, 19, 7]))
        #expect(
            try KafkaMockCommand(line: "broker-push-errors 1 0 7:800 0:1500 19")
                == .brokerPushErrors(
                    broker: 1, apiKey: 0,
                    errors: [
                        .init(code: 7, rttMilliseconds: 800), .init(code: 0, rttMilliseconds: 1500), .init(code: 19, rttMilliseconds: 0),
                    ]))
        #expect(try KafkaMockCommand(line: "ping") == .ping)
    }

    @Test(
        "malformed commands are refused with the usage",
        arguments: [
            "", "broker-down", "broker-down x", "broker-down 0", "rtt 1", "rtt 1 -5", "push-errors 0", "push-errors 0 x",
            "broker-push-errors 1 0", "broker-push-errors 1 0 7:1:2", "broker-push-errors 1 0 7:x", "reboot 1", "ping 1",
        ])
    func refuses(_ line: String) {
        #expect(throws: KafkaMockCommand.ParseError.self) { try KafkaMockCommand(line: line) }
    }

    @Test("injected codes reach the producer: cluster-wide and per broker")
    func injectedCodesReachTheProducer() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("control")
        try cluster.createTopic(topic, partitions: 1)
        // Not idempotent, so a refused message fails with the broker's code instead of an epoch bump.
        let producer = try KafkaProducer(
            bootstrapServers: cluster.bootstrapServers, properties: ["enable.idempotence": "false", "retries": "0"], logger: Support.logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [0]))
        for line in ["push-errors 0 10", "broker-push-errors 1 0 10:50"] {
            #expect(cluster.control(line) == "ok")
            do {
                _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [1]))
                Issue.record("\(line): the send should have been refused")
            } catch let error as KafkaError {
                #expect(error.rdKafkaError == 10, "\(line): \(error)")
            }
        }
        // Both stacks are used up: the next send goes through.
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: nil, value: [2]))
        await producer.close()
    }

    @Test("brokers go down and up, delays are set and cleared, unknown brokers are refused")
    func brokerCommands() async throws {
        let cluster = try KafkaMockCluster(brokers: 2, logger: Support.logger)
        defer { cluster.close() }
        for line in ["broker-down 2", "broker-up 2", "rtt 1 200", "rtt 1 0", "ping"] {
            #expect(cluster.control(line) == "ok", "\(line)")
        }
        #expect(cluster.control("broker-down 9").hasPrefix("error: "))
        #expect(cluster.control("rtt 9 10").hasPrefix("error: "))
        #expect(cluster.control("reboot 1").hasPrefix("error: unknown command reboot"))
        cluster.close()
        #expect(cluster.control("broker-up 1").hasPrefix("error: "))
    }
}
