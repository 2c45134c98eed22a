import ArgumentParser
import Foundation
import Logging
import PlanRouterDevComms
import ServiceLifecycle

struct DevCommsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-comms",
        abstract:
            "Run a local Twilio Messages API emulator (a labelled stand-in for development, tests and the demo), until SIGTERM/SIGINT.",
        discussion: """
            Messages create/fetch/list under /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP Basic auth; status
            callbacks (sent, delivered) and texts from patients POSTed with X-Twilio-Signature. Twilio's test numbers fail
            as documented (+15005550001: 21211 invalid number, +15005550004: 21610 unsubscribed, +15005550009: 21614).
            Emulator-only controls: POST /_emulator/inbound (From, To, Body: a patient texts us), GET /_emulator/inbox?number=,
            GET /_emulator/messages?after=N (every message sent to patients from position N on, and the next position),
            POST /_emulator/faults (status, count: the next create calls fail). Never run it in production.
            """)

    @Option(help: "Address to listen on. Env: PLANROUTER_DEV_COMMS_HOST. Default: 127.0.0.1.") var host: String?
    @Option(help: "Port to listen on. Env: PLANROUTER_DEV_COMMS_PORT. Default: 8099.") var port: Int?
    @Option(help: "The account SID requests authenticate as. Env: PLANROUTER_DEV_TWILIO_ACCOUNT_SID. Default: ACdev.")
    var accountSid: String?
    @Option(help: "The account's auth token. Env: PLANROUTER_DEV_TWILIO_AUTH_TOKEN. Default: dev-token.")
    var authToken: String?
    @Option(name: .customLong("sender"), help: "A sender number the account owns (repeatable); none: any E.164 sender.")
    var senders: [String] = []
    @Option(help: "Where texts from patients are POSTed (our /webhooks/twilio/inbound). Env: PLANROUTER_DEV_TWILIO_INBOUND_URL.")
    var inboundUrl: String?
    @Option(help: "Milliseconds added to every Messages API call (a real provider's latency). Default: 0.")
    var latencyMs: Int = 0
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.dev-comms")
            let host = self.host ?? Environment.value("PLANROUTER_DEV_COMMS_HOST") ?? "127.0.0.1"
            let port = self.port ?? Environment.value("PLANROUTER_DEV_COMMS_PORT").flatMap(Int.init) ?? 8099
            guard (1...65_535).contains(port), latencyMs >= 0 else {
                throw CLIError("--port must be 1...65535 and --latency-ms not negative")
            }
            let sid = accountSid ?? Environment.value("PLANROUTER_DEV_TWILIO_ACCOUNT_SID") ?? "ACdev"
            let token = authToken ?? Environment.value("PLANROUTER_DEV_TWILIO_AUTH_TOKEN") ?? "dev-token"
            let emulator = TwilioEmulator(
                settings: TwilioEmulatorSettings(
                    accounts: [sid: token], senders: Set(senders),
                    inboundWebhookURL: inboundUrl ?? Environment.value("PLANROUTER_DEV_TWILIO_INBOUND_URL"), inboundAccount: sid,
                    latency: .milliseconds(latencyMs)),
                logger: logger)
            let app = emulator.application(host: host, port: port)
            logger.info(
                "twilio emulator listening (a local stand-in, not Twilio)", metadata: ["http.host": "\(host)", "http.port": "\(port)"])
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup)],
                    gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
            try await group.run()
        }
    }
}
