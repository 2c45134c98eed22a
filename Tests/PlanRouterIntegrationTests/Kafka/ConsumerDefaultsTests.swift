import Foundation
import PlanRouterWorkers
import Testing

/// Bounded recovery (issue 18, point 7): how long a worker group takes to give a
/// killed member's partitions to the live ones follows from the consumer defaults.
@Suite struct ConsumerDefaultsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func deadMemberFailoverIsBounded() {
        let d = ConsumerDefaults.properties
        // librdkafka's 45 s session made it up to ~93 s on the dev broker.
        #expect(ConsumerDefaults.deadMemberFailoverBound(d, on: .mockCluster) <= .seconds(30))
        #expect(ConsumerDefaults.deadMemberFailoverBound(d, on: .kafka) <= .seconds(15))
        let session = Int(d["session.timeout.ms"] ?? "") ?? 45_000
        let heartbeat = Int(d["heartbeat.interval.ms"] ?? "") ?? 3000
        // Inside the brokers' default group.min.session.timeout.ms (6 s), heartbeats at most a third of it.
        #expect(session >= 6000)
        #expect(heartbeat * 3 <= session)
        // The operator's property still wins, and the bound follows it.
        #expect(ConsumerDefaults.deadMemberFailoverBound(["session.timeout.ms": "45000"], on: .mockCluster) > .seconds(90))
    }

    @Test func theDocsStateTheDefaultsAndTheBound() throws {
        let d = ConsumerDefaults.properties
        for doc in ["docs/configuration.md", "docs/reliability.md", "docs/operations.md"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(doc), encoding: .utf8)
            for key in ["session.timeout.ms", "heartbeat.interval.ms"] {
                #expect(text.contains("\(key)=\(d[key]!)"), "\(doc) should state \(key)=\(d[key]!)")
            }
        }
    }
}
