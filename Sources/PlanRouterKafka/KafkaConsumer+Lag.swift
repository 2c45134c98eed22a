import CRdKafka

/// How far one assigned partition is behind: messages in the log this consumer has
/// not applied yet.
public struct KafkaPartitionLag: Sendable, Hashable {
    public var topicPartition: KafkaTopicPartition
    public var lag: Int64

    public init(topicPartition: KafkaTopicPartition, lag: Int64) {
        self.topicPartition = topicPartition
        self.lag = lag
    }
}

extension KafkaConsumer {
    /// Lag of every assigned partition: its high watermark minus the next offset this
    /// consumer must still apply (the lowest polled-but-not-done offset, else the
    /// offset after the last done one, else the group's committed offset).
    ///
    /// The watermark is the one the brokers reported in their latest fetch response,
    /// so no request is made for it; only a partition with nothing polled since it was
    /// assigned costs a committed-offset request (bounded by `timeout`). Partitions
    /// whose watermark is not known yet are left out.
    public func lag(timeout: Duration = .seconds(1)) async -> [KafkaPartitionLag] {
        await withCheckedContinuation { continuation in
            queue.async {
                // On the queue: close cannot destroy the handle under us.
                guard self.state.withLock({ $0 == .open }) else { return continuation.resume(returning: []) }
                continuation.resume(returning: self.lagOnQueue(timeout: timeout))
            }
        }
    }

    private func lagOnQueue(timeout: Duration) -> [KafkaPartitionLag] {
        let partitions = offsets.withLock { $0.partitions }
        var watermarks: [KafkaTopicPartition: (low: Int64, high: Int64)] = [:]
        for partition in partitions.keys {
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_get_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 { watermarks[partition] = (low, high) }
        }
        var next: [KafkaTopicPartition: Int64] = [:]
        var unknown: [KafkaTopicPartition] = []
        for (partition, state) in partitions where watermarks[partition] != nil {
            if let position = state.commitPosition ?? state.pending.min() ?? state.committed {
                next[partition] = position
            } else {
                unknown.append(partition)
            }
        }
        if !unknown.isEmpty {
            for (partition, offset) in committedOnQueue(unknown, timeout: timeout) {
                // No committed offset yet (negative): the group starts at the beginning (auto.offset.reset=earliest).
                next[partition] = offset >= 0 ? offset : watermarks[partition]?.low
            }
        }
        return next.compactMap { partition, position in
            guard let mark = watermarks[partition] else { return nil }
            return KafkaPartitionLag(topicPartition: partition, lag: max(0, mark.high - max(position, mark.low)))
        }
        .sorted { ($0.topicPartition.topic, $0.topicPartition.partition) < ($1.topicPartition.topic, $1.topicPartition.partition) }
    }
}

extension KafkaConsumer {
    /// The group's committed offsets of `partitions`, as the coordinator has them (a
    /// partition without one is left out). One request, bounded by `timeout`.
    public func committedOffsets(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(5)) async -> [KafkaTopicPartition: Int64]
    {
        await withCheckedContinuation { continuation in
            queue.async {
                guard self.state.withLock({ $0 == .open }) else { return continuation.resume(returning: [:]) }
                continuation.resume(returning: self.committedOnQueue(partitions, timeout: timeout).filter { $0.value >= 0 })
            }
        }
    }

    /// The coordinator's answer for each partition it answered without error; negative where the
    /// group has no committed offset. Blocks: call on the consumer's queue.
    func committedOnQueue(_ partitions: [KafkaTopicPartition], timeout: Duration) -> [KafkaTopicPartition: Int64] {
        var out: [KafkaTopicPartition: Int64] = [:]
        RDKafkaTopicPartitionList.with(partitions.map { ($0, nil) }) { list in
            guard rd_kafka_committed(handle.pointer, list, timeout.rdKafkaMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            for (partition, offset, error) in RDKafkaTopicPartitionList.entries(list) where error == RD_KAFKA_RESP_ERR_NO_ERROR {
                out[partition] = offset
            }
        }
        return out
    }
}
