import Synchronization

/// Group commit: the first caller records its item at once; items submitted while that
/// transaction runs wait and go together in the next one, recorded by the same caller. The
/// number of transactions then follows the database's pace, not the callers'. The notify
/// sender records its provider answers this way: at 200 messages/s a transaction per answer
/// was its bottleneck. `submit` returns once the item is committed, or throws the error of
/// the transaction it was in; `flush` must be the same function for every caller.
final class GroupCommit<Item: Sendable>: Sendable {
    private struct State {
        var flushing = false
        var waiting: [(item: Item, done: CheckedContinuation<Bool, any Error>)] = []
    }

    private let state = Mutex(State())

    init() {}

    /// Items waiting for the running transaction to end (tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func submit(_ item: Item, flush: ([Item]) async throws -> Void) async throws {
        // True: no transaction is running, so this caller records (its own and what queues up meanwhile).
        let leads = try await withCheckedThrowingContinuation { (done: CheckedContinuation<Bool, any Error>) in
            state.withLock { s in
                if s.flushing {
                    s.waiting.append((item, done))
                } else {
                    s.flushing = true
                    done.resume(returning: true)
                }
            }
        }
        guard leads else { return }
        var batch: [(item: Item, done: CheckedContinuation<Bool, any Error>?)] = [(item, nil)]
        var ownError: (any Error)?
        while !batch.isEmpty {
            do {
                try await flush(batch.map(\.item))
                for b in batch { b.done?.resume(returning: false) }
            } catch {
                if batch[0].done == nil { ownError = error }
                for b in batch { b.done?.resume(throwing: error) }
            }
            batch = state.withLock { s in
                let next = s.waiting
                s.waiting = []
                if next.isEmpty { s.flushing = false }
                return next.map { ($0.item, $0.done) }
            }
        }
        if let ownError { throw ownError }
    }
}
