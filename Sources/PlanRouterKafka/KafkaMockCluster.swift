import CRdKafka
import Foundation
import Logging
import Synchronization

/// librdkafka's in-process mock cluster: real Kafka protocol over TCP on random
/// loopback ports, in memory, with fault injection. The local default broker and the
/// broker of the integration tests.
///
/// Quirks: topics are created here (the mock does not support the admin API); every
/// group rebalance waits `session.timeout.ms` − 1 s, and sessions of 2 s or less
/// never join, so consumers against it want `session.timeout.ms` of 4–6 s.
public final class KafkaMockCluster: Sendable {
    /// The mock cluster has to live inside a client instance; this one never produces.
    private let handle: RDKafkaHandle
    /// `rd_kafka_mock_cluster_t *`; nil once closed.
    private let cluster: Mutex<OpaquePointer?>
    public let bootstrapServers: String
    private let logger: Logger

    public init(brokers: Int = 3, logger: Logger) throws {
        self.logger = logger
        // The mock brokers' sockets take this handle's settings. With Nagle on, a response
        // written in two parts waited for the client's delayed ACK: ~40 ms per delivery
        // report once a connection left TCP quick-ack mode. Real brokers set TCP_NODELAY.
        let handle = try RDKafkaHandle(
            type: RD_KAFKA_PRODUCER, defaults: ["socket.nagle.disable": "true"], properties: [:], context: RDKafkaContext(logger: logger))
        guard let cluster = rd_kafka_mock_cluster_new(handle.pointer, Int32(brokers)) else {
            handle.destroy()
            throw KafkaError(code: .configuration, message: "could not start the mock Kafka cluster")
        }
        self.handle = handle
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.cluster = Mutex(cluster)
    }

    deinit { close() }

    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try withCluster("create topic '\(name)'", code: .topic) {
            rd_kafka_mock_topic_create($0, name, Int32(partitions), Int32(replicationFactor))
        }
    }

    public func setBrokerDown(_ brokerID: Int32) throws {
        try withCluster("set broker \(brokerID) down", code: .transport) { rd_kafka_mock_broker_set_down($0, brokerID) }
    }

    public func setBrokerUp(_ brokerID: Int32) throws {
        try withCluster("set broker \(brokerID) up", code: .transport) { rd_kafka_mock_broker_set_up($0, brokerID) }
    }

    /// Delays every response of this broker by `milliseconds` (0 turns the delay off).
    public func setBrokerRTT(_ brokerID: Int32, milliseconds: Int32) throws {
        try withCluster("set broker \(brokerID) rtt", code: .transport) { rd_kafka_mock_broker_set_rtt($0, brokerID, milliseconds) }
    }

    /// The next `errors.count` requests with this API key to this broker fail with these
    /// codes (0: no error), each answered after its RTT in milliseconds. Broker errors
    /// take precedence over the cluster-wide ones of `pushRequestErrors`.
    public func pushBrokerRequestErrors(_ brokerID: Int32, apiKey: Int16, errors: [(code: Int32, rttMilliseconds: Int32)]) throws {
        for e in errors {
            try withCluster("push request errors to broker \(brokerID)", code: .transport) {
                planrouter_mock_broker_push_request_error_rtt(
                    $0, brokerID, apiKey, rd_kafka_resp_err_t(rawValue: e.code), e.rttMilliseconds)
            }
        }
    }

    /// The next `errors.count` requests with this API key (0 Produce, 1 Fetch, 8
    /// OffsetCommit, …) fail with these `rd_kafka_resp_err_t` codes, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        cluster.withLock { cluster in
            guard let cluster else { return }
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, codes)
        }
    }

    /// A broker error a test makes the mock answer Produce requests with.
    public struct ProduceRefusal: Sendable, Hashable {
        let error: rd_kafka_resp_err_t

        /// An ACL does not let this client write the topic (needs an operator; an ACL
        /// change refuses writes for a moment).
        public static let topicAuthorizationFailed = ProduceRefusal(error: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        /// The broker found the record invalid (permanent for that message).
        public static let invalidRecord = ProduceRefusal(error: RD_KAFKA_RESP_ERR_INVALID_RECORD)
        /// Larger than the topic's `max.message.bytes` (permanent for that message).
        public static let messageSizeTooLarge = ProduceRefusal(error: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        /// Not enough in-sync replicas (retriable; librdkafka retries it by itself).
        public static let notEnoughReplicas = ProduceRefusal(error: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
    }

    /// The next `times` Produce requests, on any broker of the cluster, are answered
    /// with `refusal` instead of being written.
    public func refuseProduce(_ refusal: ProduceRefusal, times: Int) {
        guard times > 0 else { return }
        cluster.withLock { cluster in
            guard let cluster else { return }
            let codes = [rd_kafka_resp_err_t](repeating: refusal.error, count: times)
            rd_kafka_mock_push_request_errors_array(cluster, Self.produceApiKey, codes.count, codes)
        }
    }

    /// The Kafka protocol's ApiKey of Produce requests.
    static let produceApiKey: Int16 = 0

    /// Stops the brokers and frees the cluster. Safe to call more than once.
    ///
    /// `rd_kafka_mock_cluster_destroy` waits for the cluster's thread to answer. A test run
    /// hung for good when that thread was gone (after a burst of "failed to poll: Interrupted
    /// system call") while two deinits waited in it on both of the machine's cooperative
    /// threads, which stopped every other task. So it runs on a thread of its own, and this
    /// waits at most `closeTimeout` for it: a cluster that never answers leaks one parked
    /// thread instead of the process.
    public func close() {
        let closing = cluster.withLock { cluster -> OpaquePointer? in
            defer { cluster = nil }
            return cluster
        }
        guard let closing else { return }
        let done = DispatchSemaphore(value: 0)
        let target = ClosingCluster(pointer: closing, handle: handle)
        Thread.detachNewThread {
            rd_kafka_mock_cluster_destroy(target.pointer)
            target.handle.destroy()
            done.signal()
        }
        if done.wait(timeout: .now() + Self.closeTimeout) == .timedOut {
            logger.error("the mock Kafka cluster did not stop within \(Self.closeTimeout) s; left to its thread")
        }
    }

    static let closeTimeout: Double = 10

    /// The cluster being destroyed, handed to the thread that destroys it.
    private struct ClosingCluster: @unchecked Sendable {
        let pointer: OpaquePointer
        let handle: RDKafkaHandle
    }

    private func withCluster(
        _ context: String, code: KafkaError.Code, _ body: (OpaquePointer) -> rd_kafka_resp_err_t
    ) throws {
        let error = try cluster.withLock { cluster -> rd_kafka_resp_err_t in
            guard let cluster else { throw KafkaError(code: .closed, message: "\(context): mock cluster closed") }
            return body(cluster)
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: code, context: context, rdKafka: error)
        }
    }
}
