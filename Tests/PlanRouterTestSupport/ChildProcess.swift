import Dispatch
import Foundation

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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
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
        for fd in [input.read, output.write, errors.write] { close(fd) }
        guard spawned == 0 else {
            for fd in [input.write, output.read, errors.read] { close(fd) }
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }

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
        let signal = raw & 0x7f
        let status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return Outcome(
            status: status, stdout: String(decoding: await stdoutData.value, as: UTF8.self),
            stderr: String(decoding: await stderrData.value, as: UTF8.self), timedOut: timedOut)
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard GNU.pipe2(&fds, O_CLOEXEC) == 0 else { throw SpawnError(description: "pipe2: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }

    /// Reads `fd` to its end on a thread of its own (a blocking read must not hold one of
    /// the cooperative pool's two threads), then closes it.
    private static func drain(_ fd: Int32) -> Task<[UInt8], Never> {
        Task {
            await withCheckedContinuation { continuation in
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
                    continuation.resume(returning: data)
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
