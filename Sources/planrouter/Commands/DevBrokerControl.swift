import ArgumentParser
import Foundation
import PlanRouterKafka
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dev broker's control socket: a Unix stream socket; each line received is a
/// `KafkaMockCommand`, each answered with one line (`ok` or `error: …`). One thread
/// accepts and serves connections one at a time (commands are rare and quick).
/// The fd is closed only by `close()`, after the serving thread ended.
final class DevBrokerControlSocket: Sendable {
    let path: String
    private let fd: Int32
    private let handler: @Sendable (String) -> String
    private let stopped = Mutex(false)
    /// True while no serving thread runs (before `start()` and after the thread ended).
    private let finished = Mutex(true)

    init(path: String, handler: @escaping @Sendable (String) -> String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("control socket: socket() failed (errno \(errno))") }
        unlink(path)
        var address = try UnixAddress(path)
        let bound = withUnsafePointer(to: &address.raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let e = errno
            closeDescriptor(fd)
            throw CLIError("control socket \(path): bind/listen failed (errno \(e))")
        }
        self.path = path
        self.fd = fd
        self.handler = handler
    }

    func start() {
        finished.withLock { $0 = false }
        let t = Thread { [self] in
            self.serve()
            self.finished.withLock { $0 = true }
        }
        t.name = "planrouter.dev-broker.control"
        t.start()
    }

    /// Stops accepting (within 200 ms) and removes the socket file.
    func close() {
        stopped.withLock { $0 = true }
        while !finished.withLock({ $0 }) { usleep(20_000) }
        closeDescriptor(fd)
        unlink(path)
    }

    private func serve() {
        while !stopped.withLock({ $0 }) {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            serveClient(client)
            closeDescriptor(client)
        }
    }

    /// Reads lines until the client closes (or 5 s pass without a full line), answering each.
    private func serveClient(_ client: Int32) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !stopped.withLock({ $0 }) {
            var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 5000) > 0 else { return }
            let n = read(client, &chunk, chunk.count)
            guard n > 0 else { return }
            buffer.append(contentsOf: chunk[0..<n])
            guard buffer.count < 65_536 else { return }
            while let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                let reply = Array((handler(line) + "\n").utf8)
                var sent = 0
                while sent < reply.count {
                    let w = reply[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                    guard w > 0 else { return }
                    sent += w
                }
            }
        }
    }

    /// Sends each line to the socket at `path` and returns the replies, in order.
    static func send(_ lines: [String], to path: String) throws -> [String] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("socket() failed (errno \(errno))") }
        defer { closeDescriptor(fd) }
        var address = try UnixAddress(path)
        let connected = withUnsafePointer(to: &address.raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw CLIError(
                "cannot connect to the dev broker's control socket \(path) (errno \(errno)); start it with `planrouter dev-broker --control-socket \(path)`"
            )
        }
        var replies: [String] = []
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for line in lines {
            let bytes = Array((line + "\n").utf8)
            guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
                throw CLIError("control socket \(path): write failed")
            }
            while buffer.firstIndex(of: 0x0A) == nil {
                let n = read(fd, &chunk, chunk.count)
                guard n > 0 else { throw CLIError("control socket \(path): closed before replying") }
                buffer.append(contentsOf: chunk[0..<n])
            }
            let nl = buffer.firstIndex(of: 0x0A)!
            replies.append(String(decoding: buffer[..<nl], as: UTF8.self))
            buffer.removeSubrange(...nl)
        }
        return replies
    }
}

private struct UnixAddress {
    var raw = sockaddr_un()

    init(_ path: String) throws {
        raw.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: raw.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else {
            throw CLIError("control socket path must be 1...\(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &raw.sun_path) { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
            dst[bytes.count] = 0
        }
    }
}

private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #else
    _ = Darwin.close(fd)
    #endif
}

struct DevBrokerCtlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker-ctl",
        abstract: "Inject faults into a running dev broker through its control socket (development and tests only).",
        discussion: """
            Commands (one per argument list, or one per line on standard input with no COMMAND):
              broker-down ID | broker-up ID | rtt ID MS | push-errors APIKEY CODE... |
              broker-push-errors ID APIKEY CODE:RTT... | ping
            API keys are Kafka request types (0 Produce, 1 Fetch, 8 OffsetCommit, 11 JoinGroup, 12 Heartbeat);
            codes are Kafka error codes (7 REQUEST_TIMED_OUT, 19 NOT_ENOUGH_REPLICAS, ...). Prints each reply;
            exits non-zero if any command was refused.
            Example: planrouter dev-broker-ctl --control-socket .local/chaos/broker.sock broker-down 2
            """)

    @Option(name: .customLong("control-socket"), help: "The dev broker's control socket. Env: PLANROUTER_DEV_BROKER_CONTROL.")
    var controlSocket: String?
    @Argument(parsing: .captureForPassthrough, help: "One command; none: read commands from standard input.") var command: [String] = []

    func run() async throws {
        try await reportingErrors {
            guard let path = controlSocket ?? Environment.value("PLANROUTER_DEV_BROKER_CONTROL") else {
                throw CLIError("no control socket: set --control-socket or PLANROUTER_DEV_BROKER_CONTROL")
            }
            let lines: [String]
            if command.isEmpty {
                lines = LineReader(FileHandle.standardInput).map { String(decoding: $0, as: UTF8.self) }
                    .filter { !$0.allSatisfy(\.isWhitespace) }
            } else {
                lines = [command.joined(separator: " ")]
            }
            var refused = false
            for reply in try DevBrokerControlSocket.send(lines, to: path) {
                print(reply)
                if !reply.hasPrefix("ok") { refused = true }
            }
            if refused { throw ExitCode.failure }
        }
    }
}
