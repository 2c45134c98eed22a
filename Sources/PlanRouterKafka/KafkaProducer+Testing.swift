import CRdKafka

extension KafkaProducer {
    /// Makes librdkafka raise a fatal error as if the broker broke an idempotence
    /// invariant, so tests can check how fatal errors surface. Not API.
    func _triggerFatalErrorForTesting() {
        _ = rd_kafka_test_fatal_error(handle.pointer, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "test")
    }
}
