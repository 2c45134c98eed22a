/// A message to produce. Payloads are copied into librdkafka when produced.
public struct KafkaOutgoingMessage: Sendable {
    public var topic: String
    /// Messages with the same key go to the same partition (librdkafka's default partitioner).
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// An explicit partition; `nil` lets the partitioner choose from the key.
    public var partition: Int32?

    public init(
        topic: String,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = [],
        partition: Int32? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }
}
