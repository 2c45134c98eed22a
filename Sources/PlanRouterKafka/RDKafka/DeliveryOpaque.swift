import Foundation

/// The per-message opaque handed to librdkafka. `produce` passes it retained (+1);
/// the delivery-report callback takes that +1 back, and a failed produce releases it
/// at once, so every message's box is freed exactly once.
final class DeliveryOpaque: Sendable {
    enum Target: Sendable {
        case single(CheckedContinuation<KafkaDeliveryReport, any Error>)
        case batch(BatchDelivery, index: Int)
    }

    let target: Target

    init(_ target: Target) { self.target = target }

    func complete(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        switch target {
        case .single(let continuation):
            continuation.resume(with: result)
        case .batch(let batch, let index):
            batch.complete(index, result)
        }
    }
}

/// Collects the delivery reports of one `sendBatch`; resumes once the last one is in.
final class BatchDelivery: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<KafkaDeliveryReport, KafkaError>?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>) {
        self.results = Array(repeating: nil, count: count)
        self.remaining = count
        self.continuation = continuation
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        lock.lock()
        precondition(results[index] == nil, "delivery reported twice")
        results[index] = result
        remaining -= 1
        let finished = remaining == 0 ? results.map { $0! } : nil
        lock.unlock()
        if let finished { continuation.resume(returning: finished) }
    }
}
