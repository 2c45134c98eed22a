import ArgumentParser
import Foundation
import Logging
import Metrics
import PlanRouterBooking
import PlanRouterConnectors
import PlanRouterCore
import PlanRouterHTTP
import PlanRouterPostgres
import PlanRouterStaff
import PlanRouterStore
import PlanRouterWorkers
import Prometheus
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the public surface (booking links) and the staff surface (task API, /metrics) on two ports.",
        discussion: """
            Public surface (--host/--port): GET/POST /book/<token>, /healthz. Expose only this one outside.
            Staff surface (--staff-host/--staff-port): /signin, /session, /tasks, /tasks/<id>/resolve, /audit, /healthz,
            /metrics, and the coordinators' workspace pages (/workspace); every staff endpoint needs an API key
            (`planrouter staff add-key`) or a signed-in session.
            Bookings write pms.appointment-requests to the outbox; run `planrouter worker relay` to publish them.
            SIGTERM or SIGINT: stop accepting connections, finish requests in flight, exit 0.
            """)

    @Option(help: "Public surface: address to listen on. Env: PLANROUTER_HTTP_HOST. Default: 127.0.0.1.")
    var host: String?
    @Option(help: "Public surface: port to listen on. Env: PLANROUTER_HTTP_PORT. Default: 8080.")
    var port: Int?
    @Option(help: "Staff surface: address to listen on. Env: PLANROUTER_STAFF_HOST. Default: 127.0.0.1.")
    var staffHost: String?
    @Option(help: "Staff surface: port to listen on. Env: PLANROUTER_STAFF_PORT. Default: 8081.")
    var staffPort: Int?
    @Option(
        help: """
            Staff surface: origins browsers may call it from, comma-separated (e.g. https://staff.example.org); a request \
            with any other Origin header is refused. Env: PLANROUTER_STAFF_ORIGINS. Default: none.
            """)
    var staffOrigins: String?
    @Flag(
        help: """
            Staff surface: session cookies without Secure, for plain-HTTP development on loopback only. \
            Env: PLANROUTER_STAFF_INSECURE_COOKIES=1.
            """)
    var staffInsecureCookies = false
    @Option(
        help: """
            Staff surface: also accept bearer tokens (JWT) of your identity provider, as this file describes \
            (issuer, audience, keys; docs/staff-access.md). Env: PLANROUTER_STAFF_OIDC. Default: none.
            """)
    var staffOidc: String?
    @Option(help: "Both surfaces: seconds an idle or stalled connection is kept. Env: PLANROUTER_HTTP_IDLE_TIMEOUT. Default: 15.")
    var httpIdleTimeout: Int?
    @Option(help: "Both surfaces: most connections served at once, each. Env: PLANROUTER_HTTP_MAX_CONNECTIONS. Default: 512.")
    var httpMaxConnections: Int?
    @Option(help: "wall (production) or simulated (read from the sim_clock table). Env: PLANROUTER_CLOCK. Default: wall.")
    var clock: String?
    @Option(help: "Seconds a graceful shutdown may take before the process is cancelled. Env: PLANROUTER_SHUTDOWN_TIMEOUT. Default: 20.")
    var shutdownTimeout: Int?
    @OptionGroup var booking: BookingOptions
    @Option(
        help: """
            Public surface: how many times one booking link may ask for later times ("None of these work: show me \
            later times"); then only the call-back is offered. 0 turns it off. Env: PLANROUTER_LATER_TIMES_LIMIT. Default: 2.
            """)
    var laterTimesLimit: Int?
    @OptionGroup var messaging: MessagingOptions
    @Option(
        help: ArgumentHelp(
            "Scheme and host providers call, e.g. https://book.example.com (webhook signatures cover it). Env: PLANROUTER_PUBLIC_BASE_URL. Default: the booking base URL.",
            discussion:
                "The Twilio webhooks (/webhooks/twilio/status, /webhooks/twilio/inbound) are served when --messaging-config is set; POST /webhooks/stripe when it has a payments section."
        ))
    var publicBaseURL: String?
    @Option(
        help: """
            Public surface: also receive NexHealth's webhooks at /connectors/nexhealth/webhook, for the account and \
            institutions this file describes (docs/connectors.md). Env: PLANROUTER_NEXHEALTH. Default: none.
            """)
    var nexhealth: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup(title: "Topics (only --topic is used: bookings name the pms.appointment-requests topic)") var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            let settings = try booking.settings()
            let logger = try log.makeLogger("planrouter.serve")
            let host = self.host ?? Environment.value("PLANROUTER_HTTP_HOST") ?? "127.0.0.1"
            let port = try Self.port(self.port, env: "PLANROUTER_HTTP_PORT", default: 8080, flag: "--port")
            let staffHost = self.staffHost ?? Environment.value("PLANROUTER_STAFF_HOST") ?? "127.0.0.1"
            let staffPort = try Self.port(self.staffPort, env: "PLANROUTER_STAFF_PORT", default: 8081, flag: "--staff-port")
            guard staffPort != port else { throw CLIError("--staff-port must differ from --port: the two surfaces never share a port") }
            let limits = try httpLimits()
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
            var bookingConfiguration = BookingConfiguration(bookingKey: settings.bookingKey, topics: try kafka.resolvedTopics())
            bookingConfiguration.linkBaseURL = settings.bookingBaseURL
            // Later times are found and held by the offer planner itself: the same eligibility and hold path as offers.
            let planner = OfferPlanner(topics: try kafka.resolvedTopics(), settings: settings)
            bookingConfiguration.laterOpenings = { key, after, tx, now in
                try await planner.holdLater(key, after: after, in: tx, now: now, logger: logger)
            }
            bookingConfiguration.laterTimesLimit =
                try laterTimesLimit ?? Environment.value("PLANROUTER_LATER_TIMES_LIMIT").map {
                    guard let n = Int($0), n >= 0 else { throw CLIError("PLANROUTER_LATER_TIMES_LIMIT must be a whole number >= 0") }
                    return n
                } ?? 2
            let service = BookingService(pool: pool, clock: clock, configuration: bookingConfiguration, metrics: metrics, logger: logger)
            let messagingConfiguration = try messaging.resolved()
            let topics = try kafka.resolvedTopics()
            let webhooks = messagingConfiguration.map { configuration in
                TwilioWebhooks(
                    pool: pool, clock: clock, configuration: configuration,
                    publicBaseURL: publicBaseURL ?? Environment.value("PLANROUTER_PUBLIC_BASE_URL") ?? settings.bookingBaseURL,
                    booking: service, topics: topics, logger: logger)
            }
            // Served when any organization has a payments section (docs/payments.md).
            let stripe = messagingConfiguration.flatMap { c in
                c.organizations.values.contains { $0.payments != nil } ? StripeWebhooks(service: service, configuration: c) : nil
            }
            let nexhealthWebhook = try (nexhealth ?? Environment.value("PLANROUTER_NEXHEALTH")).map { file in
                let account = try NexHealthFile.load(file)
                return NexHealthWebhook(
                    pool: pool, clock: clock, secret: account.webhookSecret, tolerance: account.signatureTolerance,
                    organizations: Dictionary(
                        account.institutions.map { ($0.subdomain, $0.organizationID) }, uniquingKeysWith: { a, _ in a }),
                    logger: logger)
            }
            let app = BookingServer.application(
                service, host: host, port: port, limits: limits, webhooks: webhooks, stripe: stripe, nexhealth: nexhealthWebhook,
                logger: logger)
            var staffConfiguration = StaffConfiguration()
            staffConfiguration.allowedOrigins = Set(
                (staffOrigins ?? Environment.value("PLANROUTER_STAFF_ORIGINS") ?? "").split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
            staffConfiguration.secureCookies = !(staffInsecureCookies || Environment.value("PLANROUTER_STAFF_INSECURE_COOKIES") == "1")
            staffConfiguration.maximumBodyBytes = limits.maximumBodyBytes
            if let file = staffOidc ?? Environment.value("PLANROUTER_STAFF_OIDC") {
                staffConfiguration.tokenVerifier = try Self.tokenVerifier(file)
            }
            let staff = StaffService(
                pool: pool, clock: clock, configuration: staffConfiguration, metrics: metrics, logger: logger, booking: service)
            let staffApp = StaffServer.application(
                staff, host: staffHost, port: staffPort, limits: limits, metricsText: { metrics.prometheusText() }, logger: logger)
            var config = ServiceGroupConfiguration(
                services: [
                    .init(service: app, successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: staffApp, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
            config.maximumGracefulShutdownDuration = .seconds(
                shutdownTimeout ?? Environment.value("PLANROUTER_SHUTDOWN_TIMEOUT").flatMap(Int.init) ?? 20)
            logger.info(
                "booking service listening",
                metadata: [
                    "http.host": "\(host)", "http.port": "\(port)", "staff.host": "\(staffHost)", "staff.port": "\(staffPort)",
                    "clock": "\(clockName)",
                ])
            try await ServiceGroup(configuration: config).run()
            await pool.close()
        }
    }

    static func port(_ option: Int?, env: String, default value: Int, flag name: String) throws -> Int {
        let text = option.map(String.init) ?? Environment.value(env) ?? String(value)
        guard let port = Int(text), (1...65_535).contains(port) else { throw CLIError("\(name) must be between 1 and 65535, not \(text)") }
        return port
    }

    func httpLimits() throws -> HTTPLimits {
        var limits = HTTPLimits()
        let idle = httpIdleTimeout ?? Environment.value("PLANROUTER_HTTP_IDLE_TIMEOUT").flatMap(Int.init) ?? 15
        let connections = httpMaxConnections ?? Environment.value("PLANROUTER_HTTP_MAX_CONNECTIONS").flatMap(Int.init) ?? 512
        guard idle >= 1 else { throw CLIError("--http-idle-timeout must be at least 1 second") }
        guard connections >= 1 else { throw CLIError("--http-max-connections must be at least 1") }
        limits.idleTimeout = .seconds(idle)
        limits.maximumConnections = connections
        return limits
    }

    /// The identity-provider file; key files it names are relative to it.
    static func tokenVerifier(_ file: String) throws -> StaffTokenVerifier {
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        do {
            return try StaffTokenVerifier(yaml: try readTextFile(file, what: "identity provider file")) { path in
                try readTextFile(path.hasPrefix("/") ? path : base.appendingPathComponent(path).path, what: "key file")
            }
        } catch let e as RulesValidationError {
            throw CLIError("\(file):\n\(e)")
        }
    }
}
