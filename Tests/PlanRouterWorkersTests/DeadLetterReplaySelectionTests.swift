import Foundation
import PlanRouterKafka
import PlanRouterWorkers
import Testing

/// `planrouter dlq replay`'s selection, without a broker.
@Suite struct DeadLetterReplaySelectionTests {
    @Test func recordTimeFallsBackToTheTimestamp() {
        let stamp = Date(timeIntervalSince1970: 1_800_000_000)
        let m = KafkaMessage(topic: "plan.accepted.dlq", partition: 0, offset: 0, key: nil, value: [], timestamp: stamp)
        #expect(DeadLetterReplay.time(of: m) == stamp)
        #expect(DeadLetterReplay(sourceTopic: "plan.accepted", from: stamp).selects(m))
        #expect(!DeadLetterReplay(sourceTopic: "plan.accepted", to: stamp).selects(m))
    }
}
