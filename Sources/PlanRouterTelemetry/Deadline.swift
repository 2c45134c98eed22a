import Synchronization

/// Runs `body` but gives up after `timeout`, answering nil. Not a task group: a group
/// waits for every child, and a libpq connect that ignores cancellation would hold
/// the probe past its bound. Used by the workers' and the booking service's probes.
package func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = ResumeOnce(continuation)
        Task { once.resume(try? await body()) }
        Task {
            try? await Task.sleep(for: timeout)
            once.resume(nil)
        }
    }
}

/// Resumes a continuation with the first answer and ignores the rest.
private final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ value: T?) {
        let first = continuation.withLock { continuation in
            defer { continuation = nil }
            return continuation
        }
        first?.resume(returning: value)
    }
}
