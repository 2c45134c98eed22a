import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterTestSupport
import Testing

@testable import PlanRouterWorkers

@Suite struct ClassifierPipelineTests {
    @Test func everyTierEndToEndThroughBrokerAndDatabase() async throws {
        let h = try await PipelineHarness()
        let events = [
            TestEvents.accepted(plan: "implant", codes: [("D6010", 240_000), ("D6065", 180_000)]),
            TestEvents.accepted(plan: "crown", codes: [("D2740", 135_000)]),
            TestEvents.accepted(plan: "botox", codes: [("BOTOX-20U", 42_000)], service: true),
            TestEvents.accepted(plan: "sealant", codes: [("D1351", 6_500)]),
        ]
        try await h.publish(events: events)
        let classifier = try h.classifier()
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await relay.run() }]
        try await eventually("4 classifications") { try await h.count("SELECT count(*) FROM classifications") == 4 }
        let rows = try await h.pool.withConnection {
            try await $0.query("SELECT plan_id, tier, deposit_cents, reasons FROM classifications ORDER BY plan_id")
        }
        let tiers = try Dictionary(
            uniqueKeysWithValues: rows.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) })
        #expect(tiers == ["implant": "surgical", "crown": "restorative", "botox": "aesthetic", "sealant": "add_on"])
        let reasons = try rows.first { try $0.decode(0, as: String.self) == "implant" }!.decode(3, as: [String].self)
        #expect(reasons.first == "D6010 in D6000-D6199 -> surgical")

        // The relay published plan.classified events that satisfy the published schema.
        let published = try await h.consumeAll(topic: h.topics[.planClassified], expected: 4)
        #expect(published.count == 4)
        for m in published {
            let e = try EventValidator.shared.decode(m.value, expecting: [.planClassified])
            #expect(m.key == Array("loc-12".utf8))
            #expect(tiers[e.data["plan_id"]!.stringValue!] == e.data["tier"]?.stringValue)
        }
        for r in runs { await r.stop() }
        await h.close()
    }

    @Test func redeliveredEventChangesNothing() async throws {
        let h = try await PipelineHarness()
        let e = TestEvents.accepted(id: "same-id", plan: "p1")
        try await h.publish(events: [e, e, e])
        let classifier = try h.classifier()
        let run = Running { try await classifier.run() }
        try await eventually("all three consumed") { classifier.stats.applied + classifier.stats.deduplicated == 3 }
        #expect(classifier.stats.applied == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE kind = 'accepted'") == 1)
        #expect(try await h.count("SELECT count(*) FROM classifications") == 1)
        #expect(try await h.count("SELECT count(*) FROM outbox") == 1)
        await run.stop()
        await h.close()
    }

    @Test func olderAcceptanceArrivingLateIsRecordedButDoesNotOverride() async throws {
        let h = try await PipelineHarness()
        let newer = TestEvents.accepted(plan: "p1", codes: [("D6010", 240_000)], acceptedAt: "2026-11-30T12:00:00Z")
        let older = TestEvents.accepted(plan: "p1", codes: [("D1351", 6_500)], acceptedAt: "2026-11-30T09:00:00Z")
        try await h.publish(events: [newer, older])
        let classifier = try h.classifier()
        let run = Running { try await classifier.run() }
        try await eventually("both consumed") { classifier.stats.applied == 2 }
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE kind = 'accepted_stale'") == 1)
        #expect(try await h.count("SELECT count(*) FROM classifications WHERE tier = 'surgical'") == 1)
        #expect(try await h.count("SELECT count(*) FROM classifications") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_procedures WHERE code = 'D6010'") == 1)

        // A newer acceptance with changed procedures re-classifies.
        try await h.publish(events: [TestEvents.accepted(plan: "p1", codes: [("D2740", 135_000)], acceptedAt: "2026-11-30T13:00:00Z")])
        try await eventually("re-classified") { try await h.count("SELECT count(*) FROM classifications") == 2 }
        let current = try await h.pool.withConnection {
            try await $0.query("SELECT tier FROM classifications WHERE plan_id = 'p1' ORDER BY id DESC LIMIT 1")[0].decode(
                0, as: String.self)
        }
        #expect(current == "restorative")
        #expect(try await h.count("SELECT count(*) FROM plan_procedures") == 1)
        await run.stop()
        await h.close()
    }

    @Test func badInputGoesToTheDeadLetterTopicWhileGoodEventsApply() async throws {
        let h = try await PipelineHarness(partitions: 1)
        func withData(_ change: (inout JSONObject) -> Void) -> [UInt8] {
            var e = TestEvents.accepted().objectValue!
            var d = e["data"]!.objectValue!
            change(&d)
            e["data"] = .object(d)
            return JSONValue.object(e).serializedBytes()
        }
        var invalidUTF8 = TestEvents.accepted().serializedBytes()
        invalidUTF8[invalidUTF8.firstIndex(of: UInt8(ascii: "M"))!] = 0xC3  // a lone UTF-8 lead byte inside "Maria"
        var unknownType = TestEvents.accepted().objectValue!
        unknownType["type"] = "planrouter.plan.teleported.v1"
        let bad: [(String, [UInt8])] = [
            ("invalid_json", Array("{\"specversion\": \"1.0\", ".utf8)),
            ("invalid_json", invalidUTF8),
            ("invalid_data", withData { $0["total_fee_cents"] = "lots" }),
            ("invalid_data", withData { $0["plan_id"] = nil }),
            ("unknown_type", JSONValue.object(unknownType).serializedBytes()),
            ("invalid_data", withData { $0["total_fee_cents"] = -100 }),
            (
                "invalid_data",
                withData { $0["procedures"] = [.object(["code": "D2740", "description": "x", "fee_cents": .int(90_000_000_000)])] }
            ),
            (
                "invalid_data",
                withData { $0["procedures"] = [.object(["code": "D2740", "description": "x", "fee_cents": 1000, "minutes": 9999])] }
            ),
            ("too_large", withData { $0["notes"] = .string(String(repeating: "x", count: 1 << 20)) }),
        ]
        var values: [[UInt8]] = []
        var good = 0
        for (_, b) in bad {
            values.append(TestEvents.accepted().serializedBytes())
            good += 1
            values.append(b)
        }
        // An unknown CDT code is not bad input: it is classified by the default tier.
        values.append(TestEvents.accepted(plan: "unknown-code", codes: [("D0001", 1_000)]).serializedBytes())
        good += 1
        try await h.publish(values, producerProperties: ["message.max.bytes": "2000000"])

        let classifier = try h.classifier()
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await relay.run() }]
        try await eventually("all consumed") { classifier.stats.applied + classifier.stats.deadLettered == values.count }
        #expect(classifier.stats.applied == good)
        #expect(classifier.stats.deadLettered == bad.count)
        let reasons = try await h.pool.withConnection {
            try await $0.query("SELECT array_to_string(reasons, '|') FROM classifications WHERE plan_id = 'unknown-code'")[0].decode(
                0, as: String.self)
        }
        #expect(reasons.contains("D0001 matches no tier rule; default tier -> add_on"))

        let letters = try await h.consumeAll(topic: h.topics[.planAccepted] + ".dlq", expected: bad.count)
        #expect(letters.count == bad.count)
        for (letter, (kind, original)) in zip(letters.sorted { $0.offset < $1.offset }, bad) {
            let headers = Dictionary(letter.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }) { a, _ in a }
            #expect(headers["dlq.kind"] == kind)
            #expect(headers["dlq.reason"]?.isEmpty == false)
            #expect(headers["dlq.source.topic"] == h.topics[.planAccepted])
            #expect(headers["dlq.source.offset"] != nil)
            #expect(letter.value == original)
        }
        for r in runs { await r.stop() }
        await h.close()
    }

    @Test func crashBetweenDatabaseCommitAndOffsetCommitAppliesNothingTwice() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publish(events: (0..<10).map { TestEvents.accepted(plan: "p\($0)") })
        // First life: apply the batch and commit the transaction, then die before marking the offsets.
        let first = try h.classifier(group: "crashy")
        var polled: [KafkaMessage] = []
        try await eventually("ten polled") {
            polled += try await first.consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
            return polled.count == 10
        }
        try await first.process(polled)
        await first.consumer.close()  // nothing was marked done, so nothing is committed
        #expect(try await h.count("SELECT count(*) FROM classifications") == 10)

        // Second life gets the same events again and applies none of them twice.
        let second = try h.classifier(group: "crashy")
        let run = Running { try await second.run() }
        try await eventually("redelivered") { second.stats.deduplicated == 10 }
        #expect(second.stats.applied == 0)
        #expect(try await h.count("SELECT count(*) FROM classifications") == 10)
        #expect(try await h.count("SELECT count(*) FROM outbox") == 10)
        await run.stop()
        await h.close()
    }

    @Test func transientDatabaseFailuresAreRetriedNeverDeadLettered() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let classifier = ConsumerWorker(
            consumer: try h.consumer(group: "flaky", topics: [h.topics[.planAccepted]]), pool: h.pool,
            handler: ClassifierHandler(consumerName: "flaky", settings: PipelineHarness.anyAcceptanceTime), clock: WallClock(),
            settings: ConsumerSettings(batchSize: 5),
            logger: testLogger)
        let run = Running { try await classifier.run() }
        let admin = try await PostgresConnection.connect(try TestDatabase.serverURL(), logger: testLogger)
        let dbName = String(h.databaseURL.split(separator: "/").last!)
        for round in 0..<5 {
            try await h.publish(events: (0..<20).map { TestEvents.accepted(plan: "r\(round)-\($0)") })
            // Kill every connection of the worker's database mid-stream.
            _ = try await admin.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", dbName)
        }
        try await eventually("all 100 applied", timeout: .seconds(60)) { classifier.stats.applied == 100 }
        #expect(classifier.stats.deadLettered == 0)
        #expect(try await h.count("SELECT count(*) FROM classifications") == 100)
        admin.close()
        await run.stop()
        await h.close()
    }

    @Test func eventPublishedWithKcatIsApplied() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kcat-\(UUID().uuidString).ndjson")
        try (TestEvents.accepted(plan: "from-kcat").serialized() + "\n").write(to: file, atomically: true, encoding: .utf8)
        let kcat = try await ChildProcess.run(
            "/usr/bin/kcat", ["-b", h.cluster.bootstrapServers, "-t", h.topics[.planAccepted], "-k", "loc-12", "-P", "-l", file.path],
            environment: ProcessInfo.processInfo.environment, timeout: .seconds(60))
        #expect(kcat.status == 0, "kcat: \(kcat.stderr)")
        let classifier = try h.classifier()
        let run = Running { try await classifier.run() }
        try await eventually("kcat event applied") {
            try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'from-kcat'") == 1
        }
        await run.stop()
        await h.close()
    }
}
