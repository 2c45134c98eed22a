import CRdKafka
import Logging

extension KafkaConsumer {
    /// librdkafka's rebalance callback; fires inside `rd_kafka_consumer_poll` (or
    /// `consumer_close`) on the consumer's queue, so blocking here is allowed.
    ///
    /// On revoke: commit what is done for the revoked partitions *before* giving them
    /// up, so the next owner starts after it, and drop their tracking so in-flight work
    /// can never be committed later by us. On assign: fresh tracking.
    static func rebalance(
        _ rk: OpaquePointer,
        event: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        offsets: SharedOffsetTracker,
        logger: Logger
    ) {
        // librdkafka answers NULL when the consumer is not (or no longer) in a group, e.g. during close.
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) == "COOPERATIVE" } ?? false
        let changed = RDKafkaTopicPartitionList.partitions(partitions)
        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            // An assignment still queued when the consumer closes is served by rd_kafka_consumer_close:
            // nothing will consume it, and assigning from inside the close was seen to block forever in
            // rd_kafka_assign (a hung test run). Leave it unapplied; the group is being left anyway.
            if offsets.isClosing {
                logger.debug("Kafka assignment during close ignored", metadata: ["kafka.partitions": "\(changed.map(\.description))"])
                return
            }
            logger.debug("Kafka partitions assigned", metadata: ["kafka.partitions": "\(changed.map(\.description))"])
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    let failure = KafkaError(code: .consumer, context: "incremental assign", consuming: error)
                    logger.error("Kafka assign failed", metadata: ["kafka.error": "\(failure)"])
                }
            } else {
                let error = rd_kafka_assign(rk, partitions)
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let failure = KafkaError(code: .consumer, context: "assign", rdKafka: error)
                    logger.error("Kafka assign failed", metadata: ["kafka.error": "\(failure)"])
                }
            }
            offsets.withLock { $0.assign(changed) }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            logger.debug("Kafka partitions revoked", metadata: ["kafka.partitions": "\(changed.map(\.description))"])
            let positions = offsets.withLock { $0.revoke(changed) }
            if !positions.isEmpty, let error = commit(rk, positions) {
                // The next owner re-reads from the last committed offset: duplicates, not loss.
                logger.warning("Kafka commit on revoke failed", metadata: ["kafka.error": "\(error)"])
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }

        default:
            logger.warning(
                "Kafka rebalance error", metadata: ["kafka.error": "\(KafkaError(code: .consumer, context: "rebalance", rdKafka: event))"])
            _ = offsets.withLock { $0.revokeAll() }
            _ = rd_kafka_assign(rk, nil)
        }
    }
}
