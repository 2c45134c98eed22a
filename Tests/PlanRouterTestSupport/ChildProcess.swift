import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program to completion and collects its output, for the tests that run the
/// `planrouter` binary the way an operator would.
///
/// Not `Foundation.Process`: on Linux it learns that a child exited when a socket it
/// passes to the child closes, and any process spawned at the same moment can inherit
/// that socket and keep it open (swift-corelibs-foundation issue 4795). Under a full,
/// parallel test run a CLI call that had printed its answer and exited 0 was reported as
/// still running for 30 s. Here the child gets only its three standard descriptors
/// (`closefrom` at spawn, pipes opened close-on-exec) and its exit is read with
/// `waitpid` on its own pid.
public enum ChildProcess {
    public struct Outcome: Sendable {
        /// The exit code, or 128 + the signal that ended it.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// The child was still running at the deadline and was killed.
        public var timedOut: Bool
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], stdin: String? = nil, timeout: Duration
    ) async throws -> Outcome {
        let input = try pipe()
        let output = try pipe()
        let errors = try pipe()
        let pid: pid_t
        do {
            pid = try spawn(executable, arguments, environment: environment, stdin: input.read, stdout: output.write, stderr: errors.write)
        } catch {
            for fd in [input.read, output.write, errors.write, input.write, output.read, errors.read] { close(fd) }
            throw error
        }
        for fd in [input.read, output.write, errors.write] { close(fd) }

        // Read both streams while the child runs, so a full pipe cannot stall it.
        let stdoutData = drain(output.read)
        let stderrData = drain(errors.read)
        if let stdin { writeAll(Array(stdin.utf8), to: input.write) }
        close(input.write)

        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid { break }
            if r < 0, errno != EINTR { throw SpawnError(description: "waitpid \(pid): \(String(cString: strerror(errno)))") }
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(pid, SIGKILL)
                while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return Outcome(
            status: decode(raw), stdout: String(decoding: await stdoutData.value, as: UTF8.self),
            stderr: String(decoding: await stderrData.value, as: UTF8.self), timedOut: timedOut)
    }

    /// Starts a child left running (a server, a worker) until `Spawned.terminate`, its
    /// stdout and stderr appended to `output` (or discarded), its stdin empty.
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String], output: String? = nil
    ) throws -> Spawned {
        let nullInput = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let out = open(output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        defer {
            close(nullInput)
            close(out)
        }
        guard nullInput >= 0, out >= 0 else {
            throw SpawnError(description: "cannot open \(output ?? "/dev/null"): \(String(cString: strerror(errno)))")
        }
        return Spawned(pid: try spawn(executable, arguments, environment: environment, stdin: nullInput, stdout: out, stderr: out))
    }

    /// A child started by `start`. Its exit is read with `waitpid` on its pid.
    public final class Spawned: Sendable {
        public let pid: pid_t
        private let exitStatus = Mutex<Int32?>(nil)

        init(pid: pid_t) { self.pid = pid }

        /// Whether the child still runs (one that has exited is reaped here).
        public var isRunning: Bool { reap(blocking: false) == nil }

        /// Sends `signal` unless the child has exited.
        public func terminate(_ signal: Int32 = SIGTERM) {
            if isRunning { kill(pid, signal) }
        }

        /// Blocks until the child exits; returns its status (as `Outcome.status`).
        @discardableResult
        public func waitUntilExit() -> Int32 { reap(blocking: true) ?? -1 }

        /// Waits without holding a thread until the child exits; kills it after `timeout`.
        @discardableResult
        public func exit(within timeout: Duration) async -> Int32 {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let status = reap(blocking: false) { return status }
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill(pid, SIGKILL)
            return waitUntilExit()
        }

        private func reap(blocking: Bool) -> Int32? {
            exitStatus.withLock { status in
                if let status { return status }
                var raw: Int32 = 0
                while true {
                    let r = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
                    if r == pid {
                        status = ChildProcess.decode(raw)
                        return status
                    }
                    if r == 0 { return nil }
                    if errno != EINTR {
                        status = -1  // not our child any more: nothing to wait for
                        return status
                    }
                }
            }
        }
    }

    /// The exit code, or 128 + the signal that ended the child.
    static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// posix_spawn with the three standard descriptors and nothing else.
    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = GNU.addCloseFrom(&actions, 3)
        // A signal the test runner ignores (SIGPIPE) or blocks would stay ignored or
        // blocked across exec, so the child starts from the defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(spawned)))") }
        return pid
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard GNU.pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError(description: "pipe2: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    /// Reads `fd` to its end on a thread of its own, started here and now: a blocking read
    /// must not hold one of the cooperative pool's threads, and must not wait for one to
    /// start either (a child whose pipe fills stops until someone reads). Closes `fd`.
    private static func drain(_ fd: Int32) -> Drained {
        let drained = Drained()
        Thread.detachNewThread {
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    data += buffer[0..<n]
                } else if n == 0 || errno != EINTR {
                    break
                }
            }
            close(fd)
            drained.finish(data)
        }
        return drained
    }

    /// What a reading thread collected, handed to whoever awaits it, whichever comes first.
    final class Drained: Sendable {
        private let state = Mutex<(data: [UInt8]?, waiter: CheckedContinuation<[UInt8], Never>?)>((nil, nil))

        func finish(_ data: [UInt8]) {
            let waiter = state.withLock { s in
                s.data = data
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: data)
        }

        var value: [UInt8] {
            get async {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { s in
                        if s.data == nil { s.waiter = continuation }
                        return s.data
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
            } else if errno != EINTR {
                return  // the child closed its stdin early; what it read is what it gets
            }
        }
    }
}

/// glibc's `pipe2` and `posix_spawn_file_actions_addclosefrom_np` (2.34) are declared
/// only under `_GNU_SOURCE`, which the Swift overlay does not define: looked up once.
private enum GNU {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    static let pipe2: Pipe2 = symbol("pipe2")
    static let addCloseFrom: AddCloseFrom = symbol("posix_spawn_file_actions_addclosefrom_np")

    private static func symbol<F>(_ name: String) -> F {
        guard let p = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("glibc lacks \(name)") }
        return unsafeBitCast(p, to: F.self)
    }
}

/// The `planrouter` binary built next to the test bundle.
public enum PlanRouterBinary {
    public static var url: URL {
        // .build/<config>/planrouterPackageTests.xctest -> .build/<config>/planrouter
        var dir = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("planrouter").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("planrouter")
    }
}
