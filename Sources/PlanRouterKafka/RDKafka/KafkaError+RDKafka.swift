import CRdKafka

extension KafkaError {
    /// An error from a `rd_kafka_resp_err_t`; `context` says what we were doing.
    init(code: Code, context: String, rdKafka error: rd_kafka_resp_err_t) {
        let name = String(cString: rd_kafka_err2name(error))
        let reason = String(cString: rd_kafka_err2str(error))
        self.init(
            code: code,
            message: "\(context): \(name) (\(reason))",
            rdKafkaError: error.rawValue,
            isRetriable: Self.isRetriable(error),
            isFatal: error == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// An error from an `rd_kafka_error_t`, which carries its own retriable/fatal flags.
    /// Destroys the error object: every caller would otherwise have to.
    init(code: Code, context: String, consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        let rawCode = rd_kafka_error_code(error)
        let name = String(cString: rd_kafka_error_name(error))
        let reason = String(cString: rd_kafka_error_string(error))
        let fatal = rd_kafka_error_is_fatal(error) != 0
        self.init(
            code: fatal ? .fatal : code,
            message: "\(context): \(name) (\(reason))",
            rdKafkaError: rawCode.rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.isRetriable(rawCode),
            isFatal: fatal
        )
    }

    /// The handle's fatal error, if it raised one. librdkafka keeps the original cause
    /// behind the generic `__FATAL` code; this fetches it.
    static func fatal(of rk: OpaquePointer) -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let cause = rd_kafka_fatal_error(rk, &buffer, buffer.count)
        guard cause != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let name = String(cString: rd_kafka_err2name(cause))
        let reason = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return KafkaError(
            code: .fatal,
            message: "fatal client error: \(name) (\(reason))",
            rdKafkaError: cause.rawValue,
            isRetriable: false,
            isFatal: true
        )
    }

    /// Errors librdkafka or the broker clear up on their own (leader moves, reconnects,
    /// coordinator loads); the same request may succeed later.
    static func isRetriable(_ error: rd_kafka_resp_err_t) -> Bool {
        switch error {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__WAIT_COORD,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
            return true
        default:
            return false
        }
    }
}
