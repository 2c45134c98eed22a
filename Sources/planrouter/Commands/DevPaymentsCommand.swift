import ArgumentParser
import Foundation
import Logging
import PlanRouterDevComms
import ServiceLifecycle

struct DevPaymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-payments",
        abstract: "Run a local Stripe Checkout emulator (a labelled stand-in for development, tests and the demo), until SIGTERM/SIGINT.",
        discussion: """
            POST /v1/checkout/sessions (Bearer secret key, form-encoded, Idempotency-Key) and GET /v1/checkout/sessions/{id};
            each session's url is the emulator's /pay/{id} page, where the simulated patient pays or lets it expire. Events
            (checkout.session.completed, checkout.session.expired) are POSTed to --webhook-url with a Stripe-Signature
            (t=…,v1=HMAC-SHA256 of "t.body") and retried on a non-2xx answer. Emulator-only: POST /_emulator/events/{id}/resend,
            POST /_emulator/clock (now=Unix seconds: business time for expires_at, e.g. the demo's simulated clock; lapsed
            sessions expire). Signature timestamps always use the wall clock.
            Never run it in production.
            """)

    @Option(help: "Address to listen on. Env: PLANROUTER_DEV_PAYMENTS_HOST. Default: 127.0.0.1.") var host: String?
    @Option(help: "Port to listen on. Env: PLANROUTER_DEV_PAYMENTS_PORT. Default: 8098.") var port: Int?
    @Option(help: "The secret key requests must carry. Env: PLANROUTER_DEV_STRIPE_SECRET_KEY. Default: sk_test_dev.") var secretKey: String?
    @Option(help: "The webhook signing secret. Env: PLANROUTER_DEV_STRIPE_WEBHOOK_SECRET. Default: whsec_dev.") var webhookSecret: String?
    @Option(help: "Where events are POSTed (our /webhooks/stripe). Env: PLANROUTER_DEV_STRIPE_WEBHOOK_URL.") var webhookUrl: String?
    @Option(help: "The emulator's address as patients reach it (session urls). Default: http://<host>:<port>.") var publicBaseUrl: String?
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.dev-payments")
            let host = self.host ?? Environment.value("PLANROUTER_DEV_PAYMENTS_HOST") ?? "127.0.0.1"
            let port = self.port ?? Environment.value("PLANROUTER_DEV_PAYMENTS_PORT").flatMap(Int.init) ?? 8098
            guard (1...65_535).contains(port) else { throw CLIError("--port must be 1...65535") }
            let emulator = StripeEmulator(
                settings: StripeEmulatorSettings(
                    secretKey: secretKey ?? Environment.value("PLANROUTER_DEV_STRIPE_SECRET_KEY") ?? "sk_test_dev",
                    webhookSecret: webhookSecret ?? Environment.value("PLANROUTER_DEV_STRIPE_WEBHOOK_SECRET") ?? "whsec_dev",
                    webhookURL: webhookUrl ?? Environment.value("PLANROUTER_DEV_STRIPE_WEBHOOK_URL"),
                    publicBaseURL: publicBaseUrl ?? "http://\(host):\(port)"),
                logger: logger)
            logger.info(
                "stripe emulator listening (a local stand-in, not Stripe)", metadata: ["http.host": "\(host)", "http.port": "\(port)"])
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [
                        .init(service: emulator.application(host: host, port: port), successTerminationBehavior: .gracefullyShutdownGroup)
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
            try await group.run()
        }
    }
}
