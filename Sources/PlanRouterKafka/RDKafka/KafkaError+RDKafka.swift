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

    /// The class of a `rd_kafka_resp_err_t` for a produced message; nil for codes this
    /// table does not know (the caller falls back to the error's flags).
    static func category(rdKafka raw: Int32) -> Category? {
        let error = rd_kafka_resp_err_t(rawValue: raw)
        if isRetriable(error) { return .retriable }
        switch error {
        // Something about this message: the same bytes are refused every time.
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
            RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP,
            RD_KAFKA_RESP_ERR__BAD_MSG, RD_KAFKA_RESP_ERR__KEY_SERIALIZATION, RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION:
            return .permanent
        // The cluster refuses this client or topic: an ACL, a missing topic, a policy, a
        // protocol setting. Every message of the topic would fail the same way until
        // someone changes the cluster (an ACL change can refuse writes for a while).
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR__AUTHENTICATION, RD_KAFKA_RESP_ERR__SSL, RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
            RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE, RD_KAFKA_RESP_ERR_SECURITY_DISABLED,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_POLICY_VIOLATION, RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION, RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
            return .needsOperator
        // Clear up by themselves, or mean "not sent, try again": storage trouble on a
        // broker, a quota, a purge on close.
        case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED, RD_KAFKA_RESP_ERR__PURGE_QUEUE,
            RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
            return .retriable
        case RD_KAFKA_RESP_ERR__FATAL:
            return .fatal
        default:
            return nil
        }
    }
}
