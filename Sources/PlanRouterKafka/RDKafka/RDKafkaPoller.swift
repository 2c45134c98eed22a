import CRdKafka
import Foundation

/// A dedicated thread that calls `rd_kafka_poll` so delivery reports and error
/// callbacks are served without blocking the cooperative pool.
final class RDKafkaPoller: Sendable {
    private let stopRequested = Locked(false)
    private let finished = DispatchSemaphore(value: 0)

    init(handle: RDKafkaHandle, name: String) {
        let stopRequested = self.stopRequested
        let finished = self.finished
        let thread = Thread {
            // 100 ms bounds how long stop() waits; the poll returns early on any event.
            while !stopRequested.withLock({ $0 }) {
                rd_kafka_poll(handle.pointer, 100)
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Blocks until the thread has left its loop. Call once, off the cooperative pool.
    func stop() {
        stopRequested.withLock { $0 = true }
        finished.wait()
    }
}
