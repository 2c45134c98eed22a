import CRdKafka
import Foundation
import Synchronization

/// A dedicated thread that calls `rd_kafka_poll` so delivery reports and error
/// callbacks are served without blocking the cooperative pool. Created idle: the
/// thread starts with `start()` (the producer's first send), never in an initialiser.
final class RDKafkaPoller: Sendable {
    private enum State { case idle, running, stopped }

    private let handle: RDKafkaHandle
    private let name: String
    private let state = Mutex(State.idle)
    private let finished = DispatchSemaphore(value: 0)

    init(handle: RDKafkaHandle, name: String) {
        self.handle = handle
        self.name = name
    }

    /// Starts the thread unless it runs already or was stopped. Cheap to call often.
    func start() {
        let starting = state.withLock { state -> Bool in
            guard state == .idle else { return false }
            state = .running
            return true
        }
        guard starting else { return }
        let thread = Thread { [self] in
            // 100 ms bounds how long stop() waits; the poll returns early on any event.
            while state.withLock({ $0 == .running }) {
                rd_kafka_poll(handle.pointer, 100)
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Blocks until the thread has left its loop (at once if it never started). Call
    /// once, off the cooperative pool.
    func stop() {
        let wasRunning = state.withLock { state -> Bool in
            defer { state = .stopped }
            return state == .running
        }
        if wasRunning { finished.wait() }
    }
}
