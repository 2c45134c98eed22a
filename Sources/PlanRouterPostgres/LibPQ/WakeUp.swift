import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Interrupts a poll(2) on the connection's queue from another thread (task cancellation):
/// a pipe whose read end sits next to the socket in the poll set. One per wait, so a late
/// signal can never cut short a later wait.
final class WakeUp: Sendable {
    // The descriptors are immutable and read/write on a pipe is thread-safe.
    private let readEnd: Int32
    private let writeEnd: Int32
    private let signalled = Mutex(false)

    init() throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw PostgresError(code: .connectionLost, message: "could not create a pipe to wait for notifications")
        }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    var fileDescriptor: Int32 { readEnd }
    var isSignalled: Bool { signalled.withLock { $0 } }

    func signal() {
        let first = signalled.withLock { value in
            defer { value = true }
            return !value
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }
}
