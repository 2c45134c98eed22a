import Foundation
import PlanRouterCore
import PlanRouterKafka
import Testing

/// The CLI against a broker (the other CLI tests need no services: PlanRouterCLITests).
@Suite struct CLIProduceTests {
    /// produce: rejected lines are reported with their number and reason, the rest are sent,
    /// the summary is printed and the exit status says something was rejected.
    @Test func produceReportsRejectedLinesAndSendsTheRest() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("plan.accepted", partitions: 1)
        let good = TestEvents.accepted().serialized()
        let input = [good, "{not json", TestEvents.accepted().serialized(), "{\"specversion\":\"1.0\"}"].joined(separator: "\n") + "\n"
        let r = try await CLI.run(["produce"], env: ["PLANROUTER_KAFKA_BROKERS": cluster.bootstrapServers], stdin: input)
        #expect(r.status == 1)
        #expect(r.stdout.contains("sent 2, rejected 2, failed 0"))
        #expect(r.stderr.contains("line 2: rejected: invalid_json"))
        #expect(r.stderr.contains("line 4: rejected: invalid_envelope"))
        cluster.close()
    }
}
