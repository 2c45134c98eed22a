/// Which offset each assigned partition may safely commit.
///
/// Per partition it keeps the polled-but-not-done offsets. The commit position is the
/// lowest of those (the next message the group must still see) or, when none are
/// pending, the highest done offset + 1. Marking done out of order therefore never
/// commits past a message whose effects are not durable yet.
///
/// State exists only for assigned partitions: `revoke` drops it, so work still in
/// flight for a revoked partition can never be committed by this consumer, and
/// `markDone` for an unknown partition or offset is ignored.
struct KafkaOffsetTracker: Sendable {
    struct Partition: Sendable, Equatable {
        var pending: Set<Int64> = []
        var highestDone: Int64?
        var committed: Int64?

        /// Nil until something was marked done since the partition was assigned.
        var commitPosition: Int64? {
            guard let highestDone else { return nil }
            return pending.min() ?? highestDone + 1
        }
    }

    private(set) var partitions: [KafkaTopicPartition: Partition] = [:]

    var assignment: Set<KafkaTopicPartition> { Set(partitions.keys) }

    /// Fresh state: nothing carried over from an earlier assignment of the same partition.
    mutating func assign(_ assigned: [KafkaTopicPartition]) {
        for partition in assigned { partitions[partition] = Partition() }
    }

    /// Drops the partitions' state and returns the positions still worth committing.
    mutating func revoke(_ revoked: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64] {
        var positions: [KafkaTopicPartition: Int64] = [:]
        for partition in revoked {
            if let state = partitions.removeValue(forKey: partition),
                let position = state.commitPosition, position != state.committed
            {
                positions[partition] = position
            }
        }
        return positions
    }

    mutating func revokeAll() -> [KafkaTopicPartition: Int64] {
        revoke(Array(partitions.keys))
    }

    /// Records a polled message. Returns false (and records nothing) if the partition is not assigned.
    @discardableResult
    mutating func track(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard partitions[partition] != nil else { return false }
        partitions[partition]!.pending.insert(offset)
        return true
    }

    /// Returns false if the offset was not pending (unassigned partition, already done, never polled).
    @discardableResult
    mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64) -> Bool {
        guard partitions[partition]?.pending.remove(offset) != nil else { return false }
        let highest = partitions[partition]!.highestDone
        partitions[partition]!.highestDone = max(highest ?? offset, offset)
        return true
    }

    /// Positions that moved since the last commit.
    func positionsToCommit() -> [KafkaTopicPartition: Int64] {
        var positions: [KafkaTopicPartition: Int64] = [:]
        for (partition, state) in partitions {
            if let position = state.commitPosition, position != state.committed {
                positions[partition] = position
            }
        }
        return positions
    }

    mutating func didCommit(_ positions: [KafkaTopicPartition: Int64]) {
        for (partition, position) in positions where partitions[partition] != nil {
            partitions[partition]!.committed = position
        }
    }
}
