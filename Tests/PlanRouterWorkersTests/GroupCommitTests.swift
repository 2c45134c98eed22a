import Synchronization
import Testing

@testable import PlanRouterWorkers

/// The notify sender's group commit of provider answers, with a flush the test holds open.
@Suite struct GroupCommitTests {
    /// A flush whose first call waits until the test opens it; every call's items are kept.
    final class HeldFlush: Sendable {
        let calls = Mutex<[[Int]]>([])
        let (opened, open) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

        func flush(_ items: [Int]) async throws {
            let first = calls.withLock { c in
                c.append(items)
                return c.count == 1
            }
            if first {
                var it = opened.makeAsyncIterator()
                _ = await it.next()
            }
        }
    }

    @Test func itemsSubmittedDuringATransactionGoTogetherInTheNextOne() async throws {
        let commit = GroupCommit<Int>()
        let held = HeldFlush()
        let first = Task { try await commit.submit(1, flush: held.flush) }
        while held.calls.withLock({ $0.count }) == 0 { await Task.yield() }
        let others = (2...4).map { n in Task { try await commit.submit(n, flush: held.flush) } }
        while commit.waitingCount < 3 { await Task.yield() }
        held.open.yield()
        try await first.value
        for o in others { try await o.value }
        let calls = held.calls.withLock { $0 }
        #expect(calls.count == 2)
        #expect(calls.first == [1])
        #expect(Set(calls.last ?? []) == [2, 3, 4])
    }

    struct Refused: Error {}

    @Test func everyItemOfAFailedTransactionGetsItsError() async throws {
        let commit = GroupCommit<Int>()
        await #expect(throws: Refused.self) { try await commit.submit(1) { _ in throw Refused() } }
        // Nothing is left half-flushing: the next item is recorded.
        let recorded = Mutex<[Int]>([])
        try await commit.submit(2) { items in recorded.withLock { $0 += items } }
        #expect(recorded.withLock { $0 } == [2])
    }
}
