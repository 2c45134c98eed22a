import CRdKafka
import Dispatch
import Logging
import Synchronization

/// A group consumer with manual, at-least-once offset commits.
///
/// Offsets are committed only for messages the application marked done (after its
/// database transaction committed), and never past a polled message that is not done
/// yet: see `KafkaOffsetTracker`. Every librdkafka call that may block (poll, commit,
/// close, destroy) runs on this consumer's serial queue, which is also where
/// rebalance callbacks fire.
public final class KafkaConsumer: Sendable {
    enum State { case open, closing, closed }

    let handle: RDKafkaHandle
    let queue: DispatchQueue
    let offsets: SharedOffsetTracker
    let state = Mutex(State.open)
    let logger: Logger

    /// Defaults: `enable.auto.commit=false`, `enable.auto.offset.store=false`,
    /// `auto.offset.reset=earliest`, `socket.nagle.disable=true`. `properties` are librdkafka properties passed
    /// through verbatim and win over the defaults.
    ///
    /// - Throws: `KafkaError` `.configuration` naming a bad property, `.topic` if the
    ///   subscription is refused.
    public init(
        bootstrapServers: String,
        groupID: String,
        topics: [String],
        properties: [String: String] = [:],
        logger: Logger
    ) throws {
        let defaults = [
            "bootstrap.servers": bootstrapServers,
            "group.id": groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "socket.nagle.disable": "true",
        ]
        let offsets = SharedOffsetTracker()
        let context = RDKafkaContext(logger: logger) { rk, event, partitions in
            Self.rebalance(rk, event: event, partitions: partitions, offsets: offsets, logger: logger)
        }
        let handle = try RDKafkaHandle(
            type: RD_KAFKA_CONSUMER, defaults: defaults, properties: properties, context: context,
            configure: { conf in
                rd_kafka_conf_set_rebalance_cb(conf) { rk, event, partitions, opaque in
                    guard let rk, let context = RDKafkaContext.from(opaque) else { return }
                    context.onRebalance?(rk, event, partitions)
                }
                // The answer to a commit not waited for (`commitDone(waitForBroker: false)`).
                rd_kafka_conf_set_offset_commit_cb(conf) { _, error, _, opaque in
                    guard error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__NO_OFFSET,
                        let context = RDKafkaContext.from(opaque)
                    else { return }
                    context.logger.warning(
                        "Kafka offset commit failed; the next commit sends these positions again",
                        metadata: ["kafka.error": "\(KafkaError(code: .consumer, context: "commit", rdKafka: error))"])
                }
            })
        // One queue for everything: messages, rebalances and errors all come from consumer_poll.
        rd_kafka_poll_set_consumer(handle.pointer)
        let subscribed = RDKafkaTopicPartitionList.with(topics.map { (KafkaTopicPartition(topic: $0, partition: -1), nil) }) {
            rd_kafka_subscribe(handle.pointer, $0)
        }
        guard subscribed == RD_KAFKA_RESP_ERR_NO_ERROR else {
            handle.destroy()
            throw KafkaError(code: .topic, context: "subscribe", rdKafka: subscribed)
        }
        self.handle = handle
        self.offsets = offsets
        self.logger = logger
        self.queue = DispatchQueue(label: "planrouter.kafka.consumer")
    }

    deinit {
        guard state.withLock({ $0 == .open }) else { return }
        // Not closed: leave the group and destroy in the background (both block).
        // Nothing is committed: done work is simply redelivered, which is safe.
        let handle = handle
        DispatchQueue.global().async {
            _ = rd_kafka_consumer_close(handle.pointer)
            handle.destroy()
        }
    }

    /// The partitions currently assigned to this consumer.
    public var assignment: Set<KafkaTopicPartition> {
        offsets.withLock { $0.assignment }
    }

    /// Polls up to `maxMessages`. Returns as soon as at least one message is ready and
    /// no more are immediately available, or `[]` after `timeout`. Partition EOF and
    /// transient errors are logged and skipped; fatal errors are thrown.
    ///
    /// Each returned message must eventually be passed to `markDone`, or its
    /// partition's committed offset never moves past it.
    public func poll(maxMessages: Int, timeout: Duration) async throws -> [KafkaMessage] {
        let cancelled = PollCancellation()
        let result: Result<[KafkaMessage], KafkaError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(
                        returning: self.pollOnQueue(
                            maxMessages: max(1, maxMessages), timeout: timeout, cancelled: cancelled))
                }
            }
        } onCancel: {
            cancelled.cancel()
        }
        return try result.get()
    }

    /// Marks messages as applied. Call only after their effects are durable (the
    /// database transaction committed). Messages of partitions no longer assigned are
    /// ignored: another consumer owns them now and will see them again.
    public func markDone(_ messages: some Sequence<KafkaMessage>) {
        offsets.withLock { tracker in
            for message in messages {
                tracker.markDone(message.topicPartition, offset: message.offset)
            }
        }
    }

    /// Commits, per partition, the position after the done messages, never past a
    /// polled message that is not done. A no-op when nothing moved.
    ///
    /// `waitForBroker: false` hands the commit to librdkafka and returns: a worker polls its
    /// next batch without a round trip to the group coordinator. Positions committed so are
    /// sent again with every later commit until one that waits (on revoke, on close) succeeds;
    /// a failure is logged. Either way a crash may redeliver what was done since the last
    /// commit that reached the broker, which the consumers' inbox absorbs.
    public func commitDone(waitForBroker: Bool = true) async throws {
        let result: Result<Void, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                guard self.state.withLock({ $0 != .closed }) else {
                    continuation.resume(returning: .failure(KafkaError(code: .closed, message: "commit on a closed consumer")))
                    return
                }
                continuation.resume(returning: self.commitDoneOnQueue(waitForBroker: waitForBroker))
            }
        }
        try result.get()
    }

    /// Stops fetching these partitions until `resume`. A rebalance clears pausing.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try setPaused(true, partitions)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try setPaused(false, partitions)
    }

    /// Commits done offsets, leaves the group (so the partitions move at once instead
    /// of after the session timeout), and destroys the client. Safe to call more than once.
    public func close() async {
        // Flag first so a poll in progress returns at its next slice; the queue then
        // runs the close once, and a concurrent second call waits for it behind it.
        state.withLock { if $0 == .open { $0 = .closing } }
        offsets.markClosing()
        // rd_kafka_consumer_close waits without a bound for the group coordinator: with the
        // broker gone it never returned (a worker's shutdown hung in a CI run). The caller
        // waits at most `closeWaitLimit`; then the close is left to finish, or not, on the
        // consumer's queue, and the process that is stopping exits. Offsets not committed
        // are re-read by the next owner: duplicates, which the inbox drops, never loss.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = ResumeOnce(continuation)
            queue.async {
                if self.state.withLock({ $0 != .closed }) {
                    self.closeOnQueue()
                }
                _ = once.resume()
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(Self.closeWaitLimit.rdKafkaMilliseconds))) {
                if once.resume() {
                    self.logger.warning(
                        "Kafka consumer close did not finish in time (no group coordinator answering?); leaving it",
                        metadata: ["kafka.wait": "\(Self.closeWaitLimit)"])
                }
            }
        }
    }

    /// How long `close` waits for librdkafka's close, which includes the final commit
    /// (itself bounded by `commitWaitLimit`) and leaving the group.
    static let closeWaitLimit: Duration = .seconds(30)

    private func closeOnQueue() {
        if case .failure(let error) = commitDoneOnQueue() {
            logger.warning("Kafka commit on close failed", metadata: ["kafka.error": "\(error)"])
        }
        // Serves the final revoke on this thread, which commits nothing new.
        let closeError = rd_kafka_consumer_close(handle.pointer)
        if closeError != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.debug("Kafka consumer close reported an error", metadata: ["kafka.error": "\(closeError.rawValue)"])
        }
        // Set under the lock before destroy so pause/resume can no longer touch the handle.
        state.withLock { $0 = .closed }
        handle.destroy()
        logger.debug("Kafka consumer closed")
    }
}

/// Resumes a continuation from whichever of two paths comes first: `KafkaConsumer.close`'s
/// own close, or its deadline.
private final class ResumeOnce: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = Mutex(continuation) }

    /// True for the caller that resumed it.
    func resume() -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume()
        return true
    }
}
