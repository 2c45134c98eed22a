import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// What the relay does with each class of broker error (issue 18, point 1), against
/// the mock cluster's error injection: an error that needs an operator pauses the
/// topic and keeps the rows; only a permanent error sets a row aside, which shows on
/// `planrouter outbox status` and in `planrouter_outbox_set_aside`, and `planrouter
/// outbox retry` brings back.
@Suite struct RelayErrorPolicyTests {
    func fill(_ h: PipelineHarness, count: Int, prefix: String) async throws {
        try await h.pool.withTransaction { tx in
            var batch = OutboxBatch()
            for i in 0..<count {
                batch.append(
                    OutboxRecord(
                        topic: h.topics[.planClassified], key: Array("loc-\(i % 3)".utf8), eventID: "\(prefix)\(i)",
                        payload: Array("{\"n\":\"\(prefix)\(i)\"}".utf8), headers: ["ce_id": "\(prefix)\(i)"]))
            }
            try await batch.insert(on: tx, now: Date())
        }
    }

    func relay(_ h: PipelineHarness, telemetry: WorkerTelemetry? = nil) throws -> OutboxRelay {
        OutboxRelay(
            conninfo: h.databaseURL, producer: try h.producer(OutboxRelay.producerDefaults), clock: WallClock(),
            settings: RelaySettings(
                batchSize: 500, idleWait: .milliseconds(50), topicPause: .milliseconds(200), topicPauseMax: .seconds(1)),
            telemetry: telemetry, logger: testLogger)
    }

    @Test func classesOfBrokerErrors() {
        func e(_ code: Int32) -> KafkaError { KafkaError(code: .messageDelivery, message: "test", rdKafkaError: code) }
        #expect(e(29).category == .needsOperator)  // TOPIC_AUTHORIZATION_FAILED
        #expect(e(3).category == .needsOperator)  // UNKNOWN_TOPIC_OR_PART
        #expect(e(-188).category == .needsOperator)  // __UNKNOWN_TOPIC
        #expect(e(10).category == .permanent)  // MSG_SIZE_TOO_LARGE
        #expect(e(87).category == .permanent)  // INVALID_RECORD
        #expect(e(19).category == .retriable)  // NOT_ENOUGH_REPLICAS
        #expect(e(-192).category == .retriable)  // __MSG_TIMED_OUT
        #expect(e(12345).category == .needsOperator)  // unknown: never thrown away
        #expect(KafkaError(code: .fatal, message: "x", isFatal: true).category == .fatal)
        #expect(KafkaError(code: .closed, message: "x").category == .retriable)
    }

    /// The incident: an ACL change refuses the next produce requests with
    /// TOPIC_AUTHORIZATION_FAILED. Nothing is set aside; everything is published once
    /// the refusals stop.
    @Test func authorizationRefusalsPauseTheTopicAndSetNothingAside() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await fill(h, count: 200, prefix: "a")
        h.cluster.refuseProduce(.topicAuthorizationFailed, times: 5)
        let relay = try relay(h)
        let run = Running { try await relay.run() }
        try await eventually("all published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL") == 0)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE attempts > 0") == 0)
        // The refusal was noted on the rows it held back.
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE last_error LIKE '%TOPIC_AUTHORIZATION_FAILED%'") > 0)
        await run.stop()
        let messages = try await h.consumeAll(topic: h.topics[.planClassified], expected: 200)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }).count == 200)
        await h.close()
    }

    @Test func aPermanentRefusalSetsTheRowAsideVisiblyAndRetryBringsItBack() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let telemetry = WorkerTelemetry(worker: "relay")
        try await fill(h, count: 1, prefix: "bad")
        h.cluster.refuseProduce(.invalidRecord, times: OutboxRelay.maximumAttempts)
        let relay = try relay(h, telemetry: telemetry)
        let run = Running { try await relay.run() }
        try await eventually("set aside") { try await h.count("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL") == 1 }
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE attempts = 3 AND last_error LIKE '%INVALID_RECORD%'") == 1)
        // Later rows flow past it.
        try await fill(h, count: 5, prefix: "good")
        try await eventually("the rest published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 5 }

        // The metric, with its alert threshold of > 0 (docs/operations.md).
        let metrics = WorkerMetrics(telemetry: telemetry, probes: [.relay(relay.stats)], pool: h.pool, clock: WallClock())
        #expect(WorkerHTTPTests.sample(await metrics.text(), "planrouter_outbox_set_aside{worker=\"relay\"}") == 1)

        // planrouter outbox status names the row and the reason.
        let env = ["PLANROUTER_DATABASE_URL": h.databaseURL]
        let status = try await CLI.run(["outbox", "status"], env: env)
        #expect(status.status == 0, "stderr: \(status.stderr)")
        #expect(status.stdout.contains("failed 1"))
        #expect(status.stdout.contains("set aside: 1 row(s) of \(h.topics[.planClassified])"), "stdout: \(status.stdout)")
        #expect(status.stdout.contains("INVALID_RECORD"), "stdout: \(status.stdout)")

        // planrouter outbox retry: a selection is required; then the row goes back and is published.
        let none = try await CLI.run(["outbox", "retry"], env: env)
        #expect(none.status != 0)
        let retried = try await CLI.run(["outbox", "retry", "--topic", h.topics[.planClassified]], env: env)
        #expect(retried.status == 0, "stderr: \(retried.stderr)")
        #expect(retried.stdout.contains("retried 1 row(s)"))
        try await eventually("published after the retry") {
            try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        }
        #expect(WorkerHTTPTests.sample(await metrics.text(), "planrouter_outbox_set_aside{worker=\"relay\"}") == 0)
        let again = try await CLI.run(["outbox", "retry", "--all"], env: env)
        #expect(again.stdout.contains("retried 0 row(s)"))
        await run.stop()
        let messages = try await h.consumeAll(topic: h.topics[.planClassified], expected: 6)
        #expect(messages.contains { String(decoding: $0.value, as: UTF8.self).contains("bad0") })
        await h.close()
    }

    @Test func retryByIDPutsBackOnlyThatRow() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await fill(h, count: 3, prefix: "r")
        _ = try await h.pool.withConnection {
            try await $0.execute("UPDATE outbox SET failed_at = now(), attempts = 3, last_error = 'test'")
        }
        let ids = try await h.pool.withConnection { conn in
            try await conn.query("SELECT id FROM outbox ORDER BY id").map { try $0.decode(0, as: Int64.self) }
        }
        let n = try await h.pool.withConnection { try await OutboxRetryRepository.retry(.ids([ids[1]]), on: $0) }
        #expect(n == 1)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE failed_at IS NULL AND attempts = 0 AND last_error IS NULL") == 1)
        let groups = try await h.pool.withConnection { try await OutboxRetryRepository.setAside(on: $0) }
        #expect(groups.count == 1 && groups[0].count == 2 && groups[0].ids == [ids[0], ids[2]] && groups[0].reason == "test")
        await h.close()
    }
}
