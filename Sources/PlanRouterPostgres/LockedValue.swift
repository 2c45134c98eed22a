import Foundation

/// A value guarded by a lock, for the little state that must be read from any thread
/// (pool bookkeeping, a connection's closed flag). `Synchronization.Mutex` would do, but it
/// needs macOS 15 and the package still supports macOS 14.
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
