import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import PlanRouterBooking
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterMessaging
import PlanRouterPostgres
import PlanRouterStore
import Synchronization
import Testing

@testable import PlanRouterWorkers

/// The notify worker's world over real sockets: PostgreSQL and the mock broker (through
/// `PipelineHarness`), our Twilio webhooks on an HTTP port of their own, the Twilio emulator on
/// another, and optionally a real SMTP server (aiosmtpd, `scripts/lib/smtp_sink.py`).
final class NotifyFixture: Sendable {
    static let account = "ACtest0001"
    static let token = "test-auth-token-0123456789"
    static let sender = "+15005550006"
    static let patientPhone = "+15555550123"

    let harness: PipelineHarness
    let emulator: TwilioEmulator
    let configuration: MessagingConfiguration
    let webhookBase: String
    let emulatorBase: String
    let smtp: SMTPSink?
    let clock: ManualClock?
    private let servers: [Running]

    var pool: PostgresPool { harness.pool }

    static func start(smtp: SMTPSink? = nil, clock: ManualClock? = nil, latency: Duration = .zero) async throws -> NotifyFixture {
        let harness = try await PipelineHarness(partitions: 1)
        // The webhooks need only the accounts' tokens and senders; the emulator's address comes after.
        let accountOnly = Self.configuration(apiBaseURL: "http://unused", callbackURL: nil, smtp: smtp)
        // The signed URL is the one the emulator calls, so the webhooks know their port up front.
        let webhookPort = try Self.freePort()
        let webhookBase = "http://127.0.0.1:\(webhookPort)"
        let webhooks = try await Self.serve(port: webhookPort, logger: testLogger) { router in
            TwilioWebhooks(
                pool: harness.pool, clock: Self.resolvedClock(clock), configuration: accountOnly, publicBaseURL: webhookBase,
                logger: testLogger
            ).register(on: router)
        }
        let emulator = TwilioEmulator(
            settings: TwilioEmulatorSettings(
                accounts: [account: token], senders: [sender], inboundWebhookURL: webhookBase + TwilioWebhooks.inboundPath,
                inboundAccount: account, latency: latency, callbackDelay: .milliseconds(10)),
            logger: testLogger)
        let emulatorServer = try await Self.serve(logger: testLogger) { router in
            emulator.register(on: router)
        }
        let emulatorBase = "http://127.0.0.1:\(emulatorServer.port)"
        return NotifyFixture(
            harness: harness, emulator: emulator,
            configuration: Self.configuration(apiBaseURL: emulatorBase, callbackURL: webhookBase + TwilioWebhooks.statusPath, smtp: smtp),
            webhookBase: webhookBase, emulatorBase: emulatorBase, smtp: smtp, clock: clock,
            servers: [webhooks.running, emulatorServer.running])
    }

    private init(
        harness: PipelineHarness, emulator: TwilioEmulator, configuration: MessagingConfiguration, webhookBase: String,
        emulatorBase: String,
        smtp: SMTPSink?, clock: ManualClock?, servers: [Running]
    ) {
        self.harness = harness
        self.emulator = emulator
        self.configuration = configuration
        self.webhookBase = webhookBase
        self.emulatorBase = emulatorBase
        self.smtp = smtp
        self.clock = clock
        self.servers = servers
    }

    func close() async {
        // The emulator's delayed status callbacks go to our webhook server: end them first.
        await emulator.cancelCallbacks()
        for s in servers { await s.stop() }
        smtp?.stop()
        await harness.close()
    }

    static func configuration(apiBaseURL: String, callbackURL: String?, smtp: SMTPSink?) -> MessagingConfiguration {
        MessagingConfiguration(organizations: [
            "org-1": .init(
                practiceName: "Smile Dental", practicePhone: "+15555550100",
                sms: .init(
                    accountSID: account, authToken: token, from: sender, apiBaseURL: apiBaseURL, statusCallbackURL: callbackURL,
                    ratePerSecond: 1000),
                email: smtp.map {
                    .init(
                        host: "127.0.0.1", port: $0.port, from: "Smile Dental <no-reply@smile.example>", username: $0.credentials?.user,
                        password: $0.credentials?.password, startTLS: $0.startTLS ? .required : .off, insecureSkipVerify: true,
                        ratePerSecond: 1000)
                })
        ])
    }

    /// A sender against this fixture (retries quick, so tests do not wait out real backoffs).
    func sender(worker: String = "sender-\(UUID().uuidString.prefix(6))", maxAttempts: Int = 8) -> NotifySender {
        NotifySender(
            pool: pool, adapters: ChannelAdapters(configuration: configuration), clock: anyClock,
            settings: NotifySettings(
                lease: .seconds(60), pollInterval: .milliseconds(20), retryInitial: .milliseconds(20), retryMaximum: .milliseconds(100),
                maxAttempts: maxAttempts),
            workerID: worker, logger: testLogger)
    }

    func consumer(group: String = "notify") throws -> ConsumerWorker<NotifyHandler> {
        ConsumerWorker(
            consumer: try harness.consumer(group: group, topics: [harness.topics[.patientMessages]]), pool: pool,
            handler: NotifyHandler(consumerName: group), clock: anyClock, logger: testLogger)
    }

    /// An organization, a location and an open plan for messages to belong to (fixture SQL).
    func plan(_ planID: String, email: String? = nil, status: String = "offered") async throws {
        var patient: JSONObject = ["id": "pat-1", "first_name": "Maria", "phone": .string(Self.patientPhone), "sms_consent": true]
        if let email { patient["email"] = .string(email) }
        try await pool.withConnection { c in
            _ = try await c.execute("INSERT INTO organizations (id) VALUES ('org-1') ON CONFLICT DO NOTHING")
            _ = try await c.execute("INSERT INTO locations (id, organization_id) VALUES ('loc-12', 'org-1') ON CONFLICT DO NOTHING")
            _ = try await c.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', $1, 'loc-12', 'pat-1', 'prov-3', now(), 'chair', 135000, $2::jsonb, $3, 'test', $1, now(), now())
                """, planID, PostgresJSON(JSONValue.object(patient).serialized()), status)
        }
    }

    static func message(
        _ id: String, plan: String, to: String = patientPhone, channel: MessageChannel = .sms, kind: MessageKind = .offer,
        body: String? = nil, sendAfter: Date? = nil
    ) -> PatientMessage {
        PatientMessage(
            messageID: id, organizationID: "org-1", locationID: "loc-12", planID: plan, patientID: "pat-1", channel: channel, to: to,
            kind: kind, subject: channel == .email ? "Your openings at Smile Dental" : nil,
            body: body ?? "Smile Dental: openings Tue 8:00 AM, Wed 9:00 AM. Book: https://book.example.com/book/\(id)",
            link: "https://book.example.com/book/\(id)", sendAfter: sendAfter)
    }

    static func event(_ m: PatientMessage, id: String = UUID().uuidString) -> JSONValue {
        CloudEvent(id: id, source: "planrouter/offer", time: Date(), subject: m.planID, data: m).json
    }

    /// Records messages as the consumer would (the queued delivery rows), without Kafka.
    func record(_ messages: [PatientMessage]) async throws {
        _ = try await pool.withTransaction { tx in
            try await MessageDeliveriesRepository.record(
                messages.map { NewDelivery(message: $0, eventSource: "test", eventID: $0.messageID) }, now: try await self.now(), on: tx)
        }
    }

    func now() async throws -> Date { try await anyClock.now() }

    var anyClock: any PlanRouterClock { Self.resolvedClock(clock) }

    static func resolvedClock(_ manual: ManualClock?) -> any PlanRouterClock { manual.map { $0 as any PlanRouterClock } ?? WallClock() }

    struct DeliveryRow: Sendable {
        var status: String
        var attempts: Int
        var providerID: String?
        var error: String?
    }

    func delivery(_ messageID: String) async throws -> DeliveryRow {
        try await pool.withConnection { c in
            let rows = try await c.query(
                "SELECT status, attempts, provider_id, last_error FROM message_deliveries WHERE organization_id = 'org-1' AND message_id = $1",
                messageID)
            guard let r = rows.first else { return DeliveryRow(status: "missing", attempts: 0) }
            return DeliveryRow(
                status: try r.decode(0, as: String.self), attempts: try r.decode(1, as: Int.self),
                providerID: try r.decode(2, as: String?.self), error: try r.decode(3, as: String?.self))
        }
    }

    // MARK: HTTP servers on real ports

    struct Served {
        var running: Running
        var port: Int
    }

    /// Runs a Hummingbird server with the routes `register` adds; returns once it listens.
    static func serve(port: Int = 0, logger: Logger, _ register: (Router<BasicRequestContext>) -> Void) async throws -> Served {
        let router = Router(context: BasicRequestContext.self)
        register(router)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let running = Running { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw CancellationError() }
        return Served(running: running, port: bound)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { closeDescriptor(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A real SMTP server (aiosmtpd) in a child process, saving what it accepts to a directory.
final class SMTPSink: Sendable {
    let port: Int
    let directory: URL
    let startTLS: Bool
    let credentials: (user: String, password: String)?
    private let pid: Int32
    /// Our end of the sink's stdin (a duplicate, so it outlives the Pipe object): closing it stops the sink.
    private let stdinFD: Int32

    private init(port: Int, directory: URL, startTLS: Bool, credentials: (user: String, password: String)?, pid: Int32, stdinFD: Int32) {
        self.port = port
        self.directory = directory
        self.startTLS = startTLS
        self.credentials = credentials
        self.pid = pid
        self.stdinFD = stdinFD
    }

    /// Starts the sink and waits (without blocking a thread of the cooperative pool) until it listens.
    static func start(startTLS: Bool = false, credentials: (user: String, password: String)? = nil) async throws -> SMTPSink {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        var args = [root.appendingPathComponent("scripts/lib/smtp_sink.py").path, "--dir", directory.path]
        if startTLS { args.append("--starttls") }
        if let c = credentials { args += ["--auth", "\(c.user):\(c.password)"] }
        p.arguments = args
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        // Its complaints, for the error below if it never comes up.
        let stderrPath = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: stderrPath)
        try p.run()
        // Our end of its stdin, duplicated so it outlives the Pipe object: the sink exits when it closes.
        let stdinFD = dup(input.fileHandleForWriting.fileDescriptor)
        let portFile = directory.appendingPathComponent("port")
        let deadline = ContinuousClock.now + .seconds(60)
        // The file is read before the deadline is checked, so a wait that resumes late (a
        // loaded test process: a CI run found both sinks' port files written within a second,
        // and their waits resuming only after the minute) still finds it.
        while true {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                return SMTPSink(
                    port: port, directory: directory, startTLS: startTLS, credentials: credentials, pid: p.processIdentifier,
                    stdinFD: stdinFD)
            }
            guard p.isRunning, ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        closeDescriptor(stdinFD)
        p.terminate()
        let complaint = (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? ""
        throw SMTPSinkError(output: "no port file in \(directory.path)" + (complaint.isEmpty ? "" : ": \(complaint.suffix(2000))"))
    }

    func stop() {
        closeDescriptor(stdinFD)
        kill(pid, SIGTERM)
    }

    /// The messages received so far: raw text and the sink's envelope notes.
    func messages() throws -> [(raw: String, envelope: JSONValue)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".eml") }.sorted()
            .filter { !$0.hasPrefix("port") }
        return try names.map { name in
            let raw = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            let json = try String(
                contentsOf: directory.appendingPathComponent(name.replacingOccurrences(of: ".eml", with: ".json")), encoding: .utf8)
            return (raw, try JSONParser.parse(json))
        }
    }
}

struct SMTPSinkError: Error, CustomStringConvertible {
    var output: String
    var description: String { "the SMTP sink did not start (is python3-aiosmtpd installed? scripts/lib/common.sh installs it): \(output)" }
}

/// `close(2)` under a name no type's `close()` method shadows.
func closeDescriptor(_ fd: Int32) { _ = close(fd) }
