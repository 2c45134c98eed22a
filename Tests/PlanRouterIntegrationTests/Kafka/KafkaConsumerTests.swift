import Foundation
import PlanRouterKafka
import Testing

@Suite("Kafka consumer")
struct KafkaConsumerTests {
    typealias Support = KafkaTestSupport

    private func produce(_ cluster: KafkaMockCluster, _ messages: [KafkaOutgoingMessage]) async throws {
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Support.logger)
        let results = await producer.sendBatch(messages)
        await producer.close()
        for result in results { _ = try result.get() }
    }

    @Test("a rebalance splits partitions between two consumers; nothing lost, done messages not redelivered")
    func rebalance() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("rebalance")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 4)
        try await produce(cluster, Support.messages(topic: topic, count: 400, prefix: "a"))

        // A joins alone, owns all four partitions, and applies (marks done and commits) part of the backlog.
        let a = try Support.makeConsumer(cluster, group: group, topic: topic)
        // Messages A applied and whose commit succeeded: these must never reach B.
        var committedByA: Set<String> = []
        var seenByB: Set<String> = []
        var seen: Set<String> = []
        func applyByA(_ batch: [KafkaMessage]) async throws {
            for message in batch { seen.insert(Support.key(message)) }
            a.markDone(batch)
            do {
                try await a.commitDone()
                for message in batch { committedByA.insert(Support.key(message)) }
            } catch let error as KafkaError where error.isRetriable {
                // REBALANCE_IN_PROGRESS while B joins: the mock refuses commits until the group
                // is stable again (real brokers accept them while preparing a rebalance), so
                // these may legitimately be redelivered.
            }
        }
        let joined = try await Support.pollUntil(a, timeout: .seconds(30), onBatch: applyByA, done: { committedByA.count >= 50 })
        #expect(joined)
        #expect(a.assignment.count == 4)

        // B joins; both keep polling until each owns partitions and the backlog is seen.
        let b = try Support.makeConsumer(cluster, group: group, topic: topic)
        func commitByB() async throws {
            do { try await b.commitDone() } catch let error as KafkaError where error.isRetriable {}
        }
        let deadline = ContinuousClock.now.advanced(by: .seconds(45))
        var split = false
        while ContinuousClock.now < deadline {
            let batchA = try await a.poll(maxMessages: 20, timeout: .milliseconds(100))
            if !batchA.isEmpty { try await applyByA(batchA) }
            let batchB = try await b.poll(maxMessages: 20, timeout: .milliseconds(100))
            for message in batchB {
                seenByB.insert(Support.key(message))
                seen.insert(Support.key(message))
            }
            b.markDone(batchB)
            try await commitByB()
            split = !a.assignment.isEmpty && !b.assignment.isEmpty
            if split && seen.count >= 400 { break }
        }
        #expect(split)
        #expect(a.assignment.isDisjoint(with: b.assignment))
        #expect(a.assignment.union(b.assignment).count == 4)
        #expect(seen.count == 400)
        #expect(!committedByA.isEmpty)
        #expect(seenByB.isDisjoint(with: committedByA), "a message A applied and committed was redelivered to B")

        // New traffic after the split reaches both consumers.
        try await produce(cluster, Support.messages(topic: topic, count: 200, prefix: "b"))
        var second: [String: Int] = [:]  // key -> which consumer (0 = A, 1 = B)
        let after = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < after && second.count < 200 {
            for (index, consumer) in [a, b].enumerated() {
                let batch = try await consumer.poll(maxMessages: 50, timeout: .milliseconds(100))
                for message in batch where Support.key(message).hasPrefix("b-") { second[Support.key(message)] = index }
                consumer.markDone(batch)
                do { try await consumer.commitDone() } catch let error as KafkaError where error.isRetriable {}
            }
        }
        #expect(second.count == 200)
        #expect(Set(second.values) == [0, 1])
        await a.close()
        await b.close()
    }

    @Test("a message not marked done before close is redelivered to the next consumer of the group")
    func redeliveryAfterClose() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("redeliver")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 1)
        try await produce(cluster, Support.messages(topic: topic, count: 3))

        let first = try Support.makeConsumer(cluster, group: group, topic: topic)
        var polled: [KafkaMessage] = []
        try await Support.pollUntil(first, onBatch: { polled += $0 }, done: { polled.count >= 3 })
        #expect(polled.map(\.offset) == [0, 1, 2])
        // Only the first message's transaction "committed"; the worker dies before the others.
        first.markDone(polled.prefix(1))
        await first.close()

        let second = try Support.makeConsumer(cluster, group: group, topic: topic)
        var again: [KafkaMessage] = []
        try await Support.pollUntil(second, onBatch: { again += $0 }, done: { again.count >= 2 })
        #expect(again.map(\.offset) == [1, 2])
        #expect(again.map(\.value) == polled.suffix(2).map(\.value))
        await second.close()
    }

    @Test("a consumer destroyed without close redelivers what it had not marked done")
    func redeliveryAfterDeinit() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("deinit")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 1)
        try await produce(cluster, Support.messages(topic: topic, count: 1))

        var polled: [KafkaMessage] = []
        do {
            let first = try Support.makeConsumer(cluster, group: group, topic: topic)
            try await Support.pollUntil(first, onBatch: { polled += $0 }, done: { !polled.isEmpty })
        }
        #expect(polled.count == 1)

        // The dropped member may hold its partitions until its session times out.
        let second = try Support.makeConsumer(cluster, group: group, topic: topic)
        var again: [KafkaMessage] = []
        try await Support.pollUntil(second, timeout: .seconds(45), onBatch: { again += $0 }, done: { !again.isEmpty })
        #expect(again.map(\.offset) == [0])
        await second.close()
    }

    /// Polls until `count` messages came, marking each batch done and committing it as a worker does.
    func applyAll(_ consumer: KafkaConsumer, count: Int, waitForBroker: Bool) async throws -> [KafkaMessage] {
        var polled: [KafkaMessage] = []
        try await Support.pollUntil(
            consumer,
            onBatch: { batch in
                polled += batch
                consumer.markDone(batch)
                try await consumer.commitDone(waitForBroker: waitForBroker)
            }, done: { polled.count >= count })
        return polled
    }

    @Test("nothing is redelivered once marked done and committed")
    func noRedeliveryAfterCommit() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("committed")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 2)
        try await produce(cluster, Support.messages(topic: topic, count: 20, prefix: "old"))

        let first = try Support.makeConsumer(cluster, group: group, topic: topic)
        let polled = try await applyAll(first, count: 20, waitForBroker: true)
        #expect(polled.count == 20)
        try await first.commitDone()  // nothing new: a no-op
        await first.close()

        let second = try Support.makeConsumer(cluster, group: group, topic: topic)
        var again: [KafkaMessage] = []
        try await Support.pollUntil(second, onBatch: { again += $0 }, done: { second.assignment.count == 2 })
        // Assigned and fetching: a fresh message arrives, the old ones do not.
        try await produce(cluster, [KafkaOutgoingMessage(topic: topic, key: Array("new".utf8), value: [1])])
        try await Support.pollUntil(second, onBatch: { again += $0 }, done: { again.contains { Support.key($0) == "new" } })
        #expect(again.map(Support.key) == ["new"])
        await second.close()
    }

    @Test("a commit not waited for reaches the group's coordinator")
    func aCommitNotWaitedForReachesTheGroup() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("async")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 2)
        try await produce(cluster, Support.messages(topic: topic, count: 20, prefix: "old"))
        let partitions = [0, 1].map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }

        let first = try Support.makeConsumer(cluster, group: group, topic: topic)
        let polled = try await applyAll(first, count: 20, waitForBroker: false)
        var expected: [KafkaTopicPartition: Int64] = [:]
        for m in polled { expected[m.topicPartition] = max(expected[m.topicPartition] ?? 0, m.offset + 1) }
        var committed: [KafkaTopicPartition: Int64] = [:]
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while committed != expected && ContinuousClock.now < deadline {
            committed = await first.committedOffsets(partitions)
            if committed != expected { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(committed == expected)
        await first.close()
    }

    /// A worker told to stop commits what it applied and leaves the group. With the broker gone
    /// that commit is never answered; waiting for it without a bound hung a worker's shutdown
    /// for minutes in a CI run. The 90 s race is a hang detector, not a performance figure.
    @Test("a consumer closes when the broker is gone before its last commit")
    func closesWhenTheBrokerIsGone() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("gone")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 1)
        try await produce(cluster, Support.messages(topic: topic, count: 5))

        let consumer = try Support.makeConsumer(cluster, group: group, topic: topic)
        // Applied, and committed without waiting: the positions still go with the commit on close.
        let polled = try await applyAll(consumer, count: 5, waitForBroker: false)
        #expect(polled.count == 5)
        try cluster.setBrokerDown(1)
        // Whichever ends first: the close, or a wait far past its bounds (the hang detector).
        let closed = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await consumer.close()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(90))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(closed)
    }

    @Test("lag per partition: the high watermark minus the next offset still to apply")
    func lagPerPartition() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("lag")
        let group = Support.uniqueName("g")
        try cluster.createTopic(topic, partitions: 1)
        try await produce(cluster, Support.messages(topic: topic, count: 10))
        let partition = KafkaTopicPartition(topic: topic, partition: 0)

        // Ten polled, three applied: seven to go, whatever was prefetched.
        let first = try Support.makeConsumer(cluster, group: group, topic: topic)
        var polled: [KafkaMessage] = []
        try await Support.pollUntil(first, onBatch: { polled += $0 }, done: { polled.count >= 10 })
        first.markDone(polled.prefix(3))
        #expect(await first.lag() == [KafkaPartitionLag(topicPartition: partition, lag: 7)])
        first.markDone(polled)
        try await first.commitDone()
        #expect(await first.lag() == [KafkaPartitionLag(topicPartition: partition, lag: 0)])
        await first.close()
        #expect(await first.lag() == [])

        // A second member has polled nothing (all is committed): its lag comes from the
        // group's committed offset, 10, not from the start of the log.
        let second = try Support.makeConsumer(cluster, group: group, topic: topic)
        var again: [KafkaMessage] = []
        var lag: [KafkaPartitionLag] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while lag.isEmpty && ContinuousClock.now < deadline {
            again += try await second.poll(maxMessages: 10, timeout: .milliseconds(100))
            lag = await second.lag()
        }
        #expect(again.isEmpty)
        #expect(lag == [KafkaPartitionLag(topicPartition: partition, lag: 0)])
        await second.close()
    }

    @Test("pause stops delivery of a partition and resume restarts it")
    func pauseResume() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Support.logger)
        defer { cluster.close() }
        let topic = Support.uniqueName("pause")
        try cluster.createTopic(topic, partitions: 2)
        let consumer = try Support.makeConsumer(cluster, group: Support.uniqueName("g"), topic: topic)
        // The mock can hold a join for a long while when the whole suite shares the machine.
        try await Support.pollUntil(consumer, timeout: .seconds(60), done: { consumer.assignment.count == 2 })
        #expect(consumer.assignment.count == 2)

        let paused = KafkaTopicPartition(topic: topic, partition: 0)
        try consumer.pause([paused])
        var messages = Support.messages(topic: topic, count: 10)
        for index in messages.indices { messages[index].partition = Int32(index % 2) }
        try await produce(cluster, messages)

        var received: [KafkaMessage] = []
        try await Support.pollUntil(consumer, onBatch: { received += $0 }, done: { received.count >= 5 })
        // Keep polling a little: anything from the paused partition would show up now.
        try await Support.pollUntil(consumer, timeout: .seconds(2), onBatch: { received += $0 }, done: { false })
        #expect(received.count == 5)
        #expect(received.allSatisfy { $0.partition == 1 })

        try consumer.resume([paused])
        try await Support.pollUntil(consumer, onBatch: { received += $0 }, done: { received.count >= 10 })
        #expect(received.filter { $0.partition == 0 }.count == 5)
        await consumer.close()
        #expect(throws: KafkaError.self) { try consumer.pause([paused]) }
    }
}
