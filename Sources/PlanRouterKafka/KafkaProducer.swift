import CRdKafka
import Dispatch
import Logging
import Synchronization

/// An idempotent Kafka producer whose sends complete on the broker's acknowledgement.
///
/// librdkafka calls that may block (`produce` retries on a full queue, `flush`,
/// `destroy`) run on this producer's serial queue; delivery reports are served by a
/// dedicated poller thread, started by the first send (not by `init`) and stopped by
/// `close`. Nothing here blocks Swift's cooperative pool.
public final class KafkaProducer: Sendable {
    private enum State { case open, closed }

    let handle: RDKafkaHandle
    private let poller: RDKafkaPoller
    private let queue: DispatchQueue
    private let state = Mutex(State.open)
    private let logger: Logger

    /// Defaults: `enable.idempotence=true`, `acks=all`, `linger.ms=5`,
    /// `socket.nagle.disable=true` (small requests are not held back waiting for an
    /// ACK; librdkafka leaves Nagle on by default). `properties` are
    /// librdkafka properties passed through verbatim and win over the defaults (TLS and
    /// SASL settings go here).
    ///
    /// - Throws: `KafkaError` with code `.configuration` naming an unknown or invalid property.
    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws {
        let defaults = [
            "bootstrap.servers": bootstrapServers,
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "5",
            "socket.nagle.disable": "true",
        ]
        let handle = try RDKafkaHandle(
            type: RD_KAFKA_PRODUCER, defaults: defaults, properties: properties,
            context: RDKafkaContext(logger: logger),
            configure: RDKafkaHandle.installDeliveryReportCallback)
        self.handle = handle
        self.logger = logger
        self.queue = DispatchQueue(label: "planrouter.kafka.producer")
        self.poller = RDKafkaPoller(handle: handle, name: "planrouter.kafka.producer.poll")
    }

    deinit {
        // Not closed: tear down in the background (destroy blocks). Only the handle and
        // poller are captured, never self.
        guard state.withLock({ $0 == .open }) else { return }
        let handle = handle
        let poller = poller
        DispatchQueue.global().async {
            Self.shutDown(handle: handle, poller: poller, flushMilliseconds: 0)
        }
    }

    /// Sends one message and returns once it is acknowledged.
    ///
    /// - Throws: `KafkaError` `.messageDelivery` (see `isRetriable`), `.fatal` once the
    ///   producer raised a fatal error (it then fails every later send), `.closed`.
    public func send(_ message: KafkaOutgoingMessage) async throws -> KafkaDeliveryReport {
        try await withCheckedThrowingContinuation { continuation in
            let box = DeliveryOpaque(.single(continuation))
            queue.async { self.produceOnQueue(message, box: box) }
        }
    }

    /// Produces all messages, then waits for every delivery report. Results are in
    /// input order; a failure of one message does not stop the others.
    public func sendBatch(_ messages: [KafkaOutgoingMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let batch = BatchDelivery(count: messages.count, continuation: continuation)
            queue.async {
                for (index, message) in messages.enumerated() {
                    self.produceOnQueue(message, box: DeliveryOpaque(.batch(batch, index: index)))
                }
            }
        }
    }

    /// Waits until every queued message has a delivery report.
    ///
    /// - Throws: `KafkaError` `.timedOut` if some are still outstanding after `timeout`.
    public func flush(timeout: Duration) async throws {
        let result: Result<Void, KafkaError> = await withCheckedContinuation { continuation in
            queue.async {
                guard self.state.withLock({ $0 == .open }) else {
                    continuation.resume(returning: .failure(KafkaError(code: .closed, message: "flush on a closed producer")))
                    return
                }
                let error = rd_kafka_flush(self.handle.pointer, timeout.rdKafkaMilliseconds)
                if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                    continuation.resume(returning: .success(()))
                } else {
                    continuation.resume(returning: .failure(KafkaError(code: .timedOut, context: "flush", rdKafka: error)))
                }
            }
        }
        try result.get()
    }

    /// Flushes for up to `timeout`, fails whatever is still undelivered, and destroys
    /// the client. Safe to call more than once.
    public func close(timeout: Duration = .seconds(10)) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                let wasOpen = self.state.withLock { state -> Bool in
                    defer { state = .closed }
                    return state == .open
                }
                if wasOpen {
                    Self.shutDown(handle: self.handle, poller: self.poller, flushMilliseconds: timeout.rdKafkaMilliseconds)
                    self.logger.debug("Kafka producer closed")
                }
                continuation.resume()
            }
        }
    }

    // MARK: - On the producer's queue

    private func produceOnQueue(_ message: KafkaOutgoingMessage, box: DeliveryOpaque) {
        guard state.withLock({ $0 == .open }) else {
            box.complete(.failure(KafkaError(code: .closed, message: "send on a closed producer")))
            return
        }
        if let fatal = handle.fatalError {
            box.complete(.failure(fatal))
            return
        }
        poller.start()
        if let error = handle.produceWaitingForSpace(message, box: box) {
            box.complete(.failure(error))
        }
    }

    /// Flush, then fail what is left (purge) and serve those reports so no continuation
    /// is left hanging and every delivery box is released, then destroy.
    private static func shutDown(handle: RDKafkaHandle, poller: RDKafkaPoller, flushMilliseconds: Int32) {
        let pointer = handle.pointer
        if rd_kafka_flush(pointer, flushMilliseconds) != RD_KAFKA_RESP_ERR_NO_ERROR {
            _ = rd_kafka_purge(pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            _ = rd_kafka_flush(pointer, 5_000)
        }
        poller.stop()
        // Reports that raced the poller's exit.
        rd_kafka_poll(pointer, 0)
        handle.destroy()
    }
}
