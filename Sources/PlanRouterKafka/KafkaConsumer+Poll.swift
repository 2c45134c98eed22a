import CRdKafka
import Synchronization

extension KafkaConsumer {
    /// Runs on the consumer's queue. Waits in short slices so `close` and task
    /// cancellation are noticed promptly and commits queued behind a poll are not
    /// held up for the whole timeout.
    func pollOnQueue(maxMessages: Int, timeout: Duration, cancelled: PollCancellation) -> Result<[KafkaMessage], KafkaError> {
        guard state.withLock({ $0 == .open }) else {
            return .failure(KafkaError(code: .closed, message: "poll on a closed consumer"))
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var messages: [KafkaMessage] = []
        while messages.count < maxMessages {
            if !messages.isEmpty {
                // Take what is already fetched, without waiting.
            } else if cancelled.isCancelled || state.withLock({ $0 != .open }) {
                break
            }
            let remaining = clock.now.duration(to: deadline)
            if messages.isEmpty && remaining <= .zero { break }
            let wait: Int32 = messages.isEmpty ? min(100, max(1, remaining.rdKafkaMilliseconds)) : 0
            guard let raw = rd_kafka_consumer_poll(handle.pointer, wait) else {
                if messages.isEmpty { continue } else { break }
            }
            defer { rd_kafka_message_destroy(raw) }
            let error = raw.pointee.err
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                let message = KafkaMessage(raw)
                let tracked = offsets.withLock { $0.track(message.topicPartition, offset: message.offset) }
                if !tracked {
                    logger.debug("Kafka message from an unassigned partition", metadata: ["kafka.partition": "\(message.topicPartition)"])
                }
                messages.append(message)
            } else if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                continue
            } else if error == RD_KAFKA_RESP_ERR__FATAL {
                return .failure(handle.fatalError ?? KafkaError(code: .fatal, context: "consumer poll", rdKafka: error))
            } else {
                logger.warning(
                    "Kafka consumer error",
                    metadata: ["kafka.error": "\(KafkaError(code: .consumer, context: "consumer poll", rdKafka: error))"])
            }
        }
        return .success(messages)
    }

    func commitDoneOnQueue(waitForBroker: Bool = true) -> Result<Void, KafkaError> {
        let positions = offsets.withLock { $0.positionsToCommit() }
        guard !positions.isEmpty else { return .success(()) }
        if let error = Self.commit(handle.pointer, positions, waitForBroker: waitForBroker) {
            return .failure(error)
        }
        // No rebalance can run between the snapshot and here: rebalances fire on this queue.
        // A commit not waited for is not recorded as done: the positions go again with the
        // next commit (and the one on revoke or close, which waits), so one that failed on
        // the broker is made good.
        if waitForBroker { offsets.withLock { $0.didCommit(positions) } }
        return .success(())
    }

    /// How long a commit that waits for the broker waits at most. Without a bound, a commit
    /// made while no group coordinator answers (the broker gone during a shutdown) waited for
    /// good: an offer worker told to stop hung in its close for minutes in a CI run.
    static let commitWaitLimit: Duration = .seconds(10)

    /// Commit of explicit positions; waits for the broker's answer, for at most `limit`, unless
    /// `waitForBroker` is false (the answer is then logged by the offset-commit callback if it
    /// is a failure). Call on the consumer's queue. A commit that is not answered in time fails
    /// with `.timedOut`; librdkafka may still deliver it later, and if it never does the next
    /// owner of the partitions re-reads from the last committed offset: duplicates, which the
    /// inbox drops, never loss.
    static func commit(
        _ rk: OpaquePointer, _ positions: [KafkaTopicPartition: Int64], waitForBroker: Bool = true, limit: Duration = commitWaitLimit
    ) -> KafkaError? {
        RDKafkaTopicPartitionList.with(positions.map { ($0.key, $0.value) }) { list in
            guard waitForBroker else {
                let error = rd_kafka_commit(rk, list, 1)
                return error == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(code: .consumer, context: "commit", rdKafka: error)
            }
            // The answer comes as an event on a queue of our own, which we wait on with a bound.
            guard let answers = rd_kafka_queue_new(rk) else {
                return KafkaError(code: .consumer, message: "commit: could not create a queue for its answer")
            }
            defer { rd_kafka_queue_destroy(answers) }
            let error = rd_kafka_commit_queue(rk, list, answers, nil, nil)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return KafkaError(code: .consumer, context: "commit", rdKafka: error)
            }
            guard let event = rd_kafka_queue_poll(answers, limit.rdKafkaMilliseconds) else {
                return KafkaError(
                    code: .timedOut, message: "commit: no answer from the group coordinator within \(limit)", isRetriable: true)
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return KafkaError(code: .consumer, context: "commit", rdKafka: eventError)
            }
            if let committed = rd_kafka_event_topic_partition_list(event) {
                for (partition, _, partitionError) in RDKafkaTopicPartitionList.entries(committed)
                where partitionError != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return KafkaError(code: .consumer, context: "commit of \(partition)", rdKafka: partitionError)
                }
            }
            return nil
        }
    }

    func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        // Held across the (non-blocking) call so close cannot destroy the handle meanwhile.
        let error: KafkaError? = state.withLock { state in
            guard state != .closed else {
                return KafkaError(code: .closed, message: "pause/resume on a closed consumer")
            }
            return RDKafkaTopicPartitionList.with(partitions.map { ($0, nil) }) { list in
                let error = paused ? rd_kafka_pause_partitions(handle.pointer, list) : rd_kafka_resume_partitions(handle.pointer, list)
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return KafkaError(code: .consumer, context: paused ? "pause" : "resume", rdKafka: error)
                }
                for (partition, _, partitionError) in RDKafkaTopicPartitionList.entries(list)
                where partitionError != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return KafkaError(
                        code: .topic, context: "\(paused ? "pause" : "resume") of \(partition)", rdKafka: partitionError)
                }
                return nil
            }
        }
        if let error { throw error }
    }
}

/// Set by the cancellation handler of one `poll`, read by its loop on the consumer's queue.
final class PollCancellation: Sendable {
    private let cancelled = Mutex(false)

    func cancel() { cancelled.withLock { $0 = true } }
    var isCancelled: Bool { cancelled.withLock { $0 } }
}
