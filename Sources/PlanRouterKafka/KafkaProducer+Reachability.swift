import Foundation

extension KafkaProducer {
    /// Fails with a clear error when no broker answers in time, so a command does not
    /// sit on librdkafka's retries when the bootstrap list is wrong or the broker is down.
    public func checkReachable(timeout: Duration) async throws {
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let handle = handle
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
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
