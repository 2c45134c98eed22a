import ArgumentParser
import Foundation
import Logging
import Metrics
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve booking links (GET/POST /book/<token>), the coordinator task API, /healthz and /metrics over HTTP.",
        discussion: """
            Bookings write pms.appointment-requests to the outbox; run `planrouter worker relay` to publish them.
            The coordinator API (/tasks) has no authentication of its own: expose it only behind your internal proxy.
            SIGTERM or SIGINT: stop accepting connections, finish requests in flight, exit 0.
            """)

    @Option(help: "Address to listen on. Env: PLANROUTER_HTTP_HOST. Default: 127.0.0.1.")
    var host: String?
    @Option(help: "Port to listen on. Env: PLANROUTER_HTTP_PORT. Default: 8080.")
    var port: Int?
    @Option(help: "wall (production) or simulated (read from the sim_clock table). Env: PLANROUTER_CLOCK. Default: wall.")
    var clock: String?
    @Option(help: "Seconds a graceful shutdown may take before the process is cancelled. Env: PLANROUTER_SHUTDOWN_TIMEOUT. Default: 20.")
    var shutdownTimeout: Int?
    @OptionGroup var booking: BookingOptions
    @OptionGroup var messaging: MessagingOptions
    @Option(
        help: ArgumentHelp(
            "Scheme and host providers call, e.g. https://book.example.com (webhook signatures cover it). Env: PLANROUTER_PUBLIC_BASE_URL. Default: the booking base URL.",
            discussion: "The Twilio webhooks (/webhooks/twilio/status, /webhooks/twilio/inbound) are served when --messaging-config is set."
        ))
    var publicBaseURL: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup(title: "Topics (only --topic is used: bookings name the pms.appointment-requests topic)") var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let settings = try booking.settings()
            let logger = try log.makeLogger("planrouter.serve")
            let host = self.host ?? Environment.value("PLANROUTER_HTTP_HOST") ?? "127.0.0.1"
            let portText = self.port.map(String.init) ?? Environment.value("PLANROUTER_HTTP_PORT") ?? "8080"
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw CLIError("--port must be between 1 and 65535, not \(portText)")
            }
            MallocArenas.limit()
            let url = try database.resolved()
            let pool = PostgresPool(conninfo: url, size: 8, logger: logger)
            try await pool.withConnection { conn in
                guard try await SchemaRepository.hasTable("offers", on: conn) else {
                    throw CLIError("the database has no PlanRouter schema: run `planrouter migrate` first")
                }
            }
            let clockName = self.clock ?? Environment.value("PLANROUTER_CLOCK") ?? "wall"
            let clock: any PlanRouterClock
            switch clockName {
            case "wall": clock = WallClock()
            case "simulated": clock = DatabaseClock(pool: pool)
            default: throw CLIError("--clock must be wall or simulated, not \(clockName)")
            }
            // One registry for the service's own counters and the HTTP middleware's metrics.
            let metrics = BookingMetrics()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.telemetry.registry))
            let service = BookingService(
                pool: pool, clock: clock,
                configuration: BookingConfiguration(bookingKey: settings.bookingKey, topics: try kafka.resolvedTopics()),
                metrics: metrics, logger: logger)
            let webhooks = try messaging.resolved().map { configuration in
                TwilioWebhooks(
                    pool: pool, clock: clock, configuration: configuration,
                    publicBaseURL: publicBaseURL ?? Environment.value("PLANROUTER_PUBLIC_BASE_URL") ?? settings.bookingBaseURL,
                    logger: logger)
            }
            let app = BookingServer.application(service, host: host, port: port, webhooks: webhooks, logger: logger)
            var config = ServiceGroupConfiguration(
                services: [.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
            config.maximumGracefulShutdownDuration = .seconds(
                shutdownTimeout ?? Environment.value("PLANROUTER_SHUTDOWN_TIMEOUT").flatMap(Int.init) ?? 20)
            logger.info("booking service listening", metadata: ["http.host": "\(host)", "http.port": "\(port)", "clock": "\(clockName)"])
            try await ServiceGroup(configuration: config).run()
            await pool.close()
        }
    }
}
