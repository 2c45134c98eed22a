import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import PlanRouterCore

/// A failed SMTP exchange: the server's reply code, or a connection-level failure.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    /// The server's reply code (e.g. 550), nil for a connection-level failure.
    public var code: Int?
    /// Which step failed: `connect`, `ehlo`, `starttls`, `auth`, `mail`, `rcpt`, `data`, `message`.
    public var step: String
    /// True once the final `.` of DATA was written: the server may have taken the message.
    public var afterData: Bool
    public var description: String { "smtp \(step) failed" + (code.map { " with \($0)" } ?? "") }

    public init(code: Int?, step: String, afterData: Bool) {
        self.code = code
        self.step = step
        self.afterData = afterData
    }
}

/// A small SMTP client (RFC 5321) on SwiftNIO: EHLO, STARTTLS when offered (and configured),
/// AUTH PLAIN or LOGIN, MAIL FROM / RCPT TO / DATA with a dot-stuffed body, QUIT.
/// One connection per message: relays throttle per connection anyway, and nothing is pooled
/// that could outlive a relay's idle timeout.
public struct SMTPClient: Sendable {
    public let settings: MessagingConfiguration.Email
    /// The name we greet with (EHLO).
    public let heloName: String

    public init(settings: MessagingConfiguration.Email, heloName: String = "planrouter.localdomain") {
        self.settings = settings
        self.heloName = heloName
    }

    public func send(_ mail: EmailMessage) async throws {
        let from = EmailMessage.address(mail.from)
        let to = EmailMessage.address(mail.to)
        // An address is a single line: a CR or LF could smuggle a command.
        guard !(from + to).contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw SMTPError(code: nil, step: "message", afterData: false)
        }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPError(code: nil, step: "connect", afterData: false)
        }
        let settings = self.settings
        let heloName = self.heloName
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(lines: LineReader(inbound.makeAsyncIterator()), outbound: outbound)
            try await session.expect(220, step: "connect")
            var extensions = try await session.command("EHLO \(heloName)", expect: 250, step: "ehlo")
            if settings.startTLS != .off {
                if extensions.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
                    _ = try await session.command("STARTTLS", expect: 220, step: "starttls")
                    try await Self.startTLS(on: channel.channel, settings: settings)
                    extensions = try await session.command("EHLO \(heloName)", expect: 250, step: "ehlo")
                } else if settings.startTLS == .required {
                    throw SMTPError(code: nil, step: "starttls", afterData: false)
                }
            }
            if let user = settings.username {
                let password = settings.password ?? ""
                let auth = extensions.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
                if auth.contains("PLAIN") || !auth.contains("LOGIN") {
                    let token = Data([UInt8(0)] + Array(user.utf8) + [UInt8(0)] + Array(password.utf8)).base64EncodedString()
                    _ = try await session.command("AUTH PLAIN \(token)", expect: 235, step: "auth")
                } else {
                    _ = try await session.command("AUTH LOGIN", expect: 334, step: "auth")
                    _ = try await session.command(Data(user.utf8).base64EncodedString(), expect: 334, step: "auth")
                    _ = try await session.command(Data(password.utf8).base64EncodedString(), expect: 235, step: "auth")
                }
            }
            _ = try await session.command("MAIL FROM:<\(from)>", expect: 250, step: "mail")
            _ = try await session.command("RCPT TO:<\(to)>", expect: 250, also: 251, step: "rcpt")
            _ = try await session.command("DATA", expect: 354, step: "data")
            do {
                try await outbound.write(ByteBuffer(string: mail.data + ".\r\n"))
                try await session.expect(250, step: "data")
            } catch var e as SMTPError {
                e.afterData = true
                throw e
            }
            // The message is taken; a failed QUIT changes nothing.
            _ = try? await session.command("QUIT", expect: 221, step: "quit")
        }
    }

    /// Puts TLS in front of the pipeline after the server's 220 to STARTTLS.
    static func startTLS(on channel: any Channel, settings: MessagingConfiguration.Email) async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if settings.insecureSkipVerify { tls.certificateVerification = .none }
        do {
            let context = try NIOSSLContext(configuration: tls)
            let host = settings.host
            try await channel.eventLoop.submit {
                // A hostname for SNI and verification; an IP address is verified without SNI.
                let serverName = host.first?.isNumber == true ? nil : host
                try channel.pipeline.syncOperations.addHandler(
                    try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
            }.get()
        } catch {
            throw SMTPError(code: nil, step: "starttls", afterData: false)
        }
    }
}

/// CRLF-terminated lines out of the channel's byte stream.
struct LineReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending: [UInt8] = []

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next() async throws -> String? {
        while true {
            if let lf = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(pending[..<lf])
                pending.removeFirst(lf + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard let chunk = try await iterator.next() else { return nil }
            pending += chunk.readableBytesView
            // A server that never ends a line is not an SMTP server.
            if pending.count > 64 * 1024 { return nil }
        }
    }
}

/// Commands and replies; a reply is one or more lines `NNN-text` ending with `NNN text`.
struct SMTPSession {
    var lines: LineReader
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Reads one reply; throws unless its code is `code` (or `also`). Returns its text lines.
    @discardableResult
    mutating func expect(_ code: Int, also: Int? = nil, step: String) async throws -> [String] {
        var texts: [String] = []
        while true {
            let line: String?
            do { line = try await lines.next() } catch { throw SMTPError(code: nil, step: step, afterData: false) }
            guard let line, line.count >= 3, let got = Int(line.prefix(3)) else {
                throw SMTPError(code: nil, step: step, afterData: false)
            }
            texts.append(String(line.dropFirst(4)))
            if line.count > 3 && line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
            guard got == code || got == also else { throw SMTPError(code: got, step: step, afterData: false) }
            return texts
        }
    }

    mutating func command(_ text: String, expect code: Int, also: Int? = nil, step: String) async throws -> [String] {
        do { try await outbound.write(ByteBuffer(string: text + "\r\n")) } catch {
            throw SMTPError(code: nil, step: step, afterData: false)
        }
        return try await expect(code, also: also, step: step)
    }
}
