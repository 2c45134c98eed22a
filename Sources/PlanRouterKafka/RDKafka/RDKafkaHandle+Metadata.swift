import CRdKafka

extension RDKafkaHandle {
    /// Asks the cluster for its metadata; blocks up to `timeoutMs`. Call off the cooperative pool.
    func fetchMetadata(timeoutMs: Int32) throws -> Int {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 0, nil, &metadata, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(
                code: err == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timedOut : .transport,
                message: "no Kafka broker answered within \(timeoutMs) ms (\(String(cString: rd_kafka_err2str(err))))",
                rdKafkaError: err.rawValue, isRetriable: true, isFatal: false)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return Int(metadata.pointee.broker_cnt)
    }
}
