import CRdKafka

/// Conversions between Swift partitions and `rd_kafka_topic_partition_list_t`.
enum RDKafkaTopicPartitionList {
    /// Calls `body` with a C list built from `partitions` (offsets optional), then frees it.
    static func with<Result>(
        _ partitions: [(KafkaTopicPartition, Int64?)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result
    ) rethrows -> Result {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topicPartition, offset) in partitions {
            let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)!
            if let offset { element.pointee.offset = offset }
        }
        return try body(list)
    }

    static func partitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        entries(list).map(\.0)
    }

    /// Partitions with their offset and per-partition error.
    static func entries(
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) -> [(KafkaTopicPartition, Int64, rd_kafka_resp_err_t)] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elements[index]
            return (
                KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                element.offset, element.err
            )
        }
    }
}
