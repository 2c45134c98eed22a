import CRdKafka
import Foundation

extension KafkaProducer {
    /// Fails with a clear error when no broker answers in time, so a command does not
    /// sit on librdkafka's retries when the bootstrap list is wrong or the broker is down.
    public func checkReachable(timeout: Duration) async throws {
        try await loadMetadata(topics: [], timeout: timeout)
    }

    /// Looks up `topics` in one metadata request, so the first message to each does not
    /// wait for a lookup of its own (measured on the mock broker: 0.7–1 s for the first
    /// message to a topic the producer had not seen). Topics that do not exist are
    /// simply not found here; producing to them fails as it would have.
    public func loadMetadata(topics: [String], timeout: Duration) async throws {
        let ms = timeout.rdKafkaMilliseconds
        let handle = handle
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                // A topic handle makes the topic "locally known"; a metadata request for
                // known topics then covers it, and its answer fills librdkafka's cache.
                let topicHandles = topics.compactMap { rd_kafka_topic_new(handle.pointer, $0, nil) }
                defer { for handle in topicHandles { rd_kafka_topic_destroy(handle) } }
                do {
                    _ = try handle.fetchMetadata(timeoutMs: ms)
                    c.resume()
                } catch {
                    c.resume(throwing: error)
                }
            }
        }
    }
}
