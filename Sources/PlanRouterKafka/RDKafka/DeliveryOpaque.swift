import Foundation
import Synchronization

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
final class BatchDelivery: Sendable {
    private struct Progress {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
    }

    private let progress: Mutex<Progress>
    private let continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>) {
        self.progress = Mutex(Progress(results: Array(repeating: nil, count: count), remaining: count))
        self.continuation = continuation
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let finished = progress.withLock { progress -> [Result<KafkaDeliveryReport, KafkaError>]? in
            precondition(progress.results[index] == nil, "delivery reported twice")
            progress.results[index] = result
            progress.remaining -= 1
            return progress.remaining == 0 ? progress.results.map { $0! } : nil
        }
        if let finished { continuation.resume(returning: finished) }
    }
}
