import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import PlanRouterWorkers
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one worker kind. Each kind is its own consumer group; run more processes to scale out.",
        discussion: "SIGTERM or SIGINT: the current batch finishes and commits, offsets are committed, clients close, exit 0.",
        subcommands: [Classifier.self, Offer.self, Escalation.self, Notify.self, Payments.self, Relay.self])

    struct Classifier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consume plan.accepted (and plan.changed: modified), store and classify plans, emit plan.classified (via the outbox)."
        )
        @OptionGroup var options: WorkerOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let settings = try classifier.settings()
                let env = try await WorkerEnvironment.make(kind: "classifier", options, database, kafka, log)
                let handler = ClassifierHandler(consumerName: env.groupID, topics: env.topics, settings: settings)
                let consumer = try env.consumer(topics: [env.topics[.planAccepted], env.topics[.planChanged], env.topics[.planPresented]])
                let worker = ConsumerWorker(
                    consumer: consumer, pool: env.pool, handler: handler, clock: env.clock,
                    settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                try await env.run([worker], probes: [worker.probe])
            }
        }
    }

    struct Offer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consume plan.classified, schedule.changed and appointment.changed; hold openings and make offers.",
            discussion:
                "Emits patient.messages and coordinator.tasks (via the outbox) and starts escalation ladders.")
        @OptionGroup var options: WorkerOptions
        @OptionGroup var booking: BookingOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let settings = try booking.settings()
                let env = try await WorkerEnvironment.make(kind: "offer", options, database, kafka, log)
                let handler = OfferHandler(consumerName: env.groupID, topics: env.topics, settings: settings)
                let consumer = try env.consumer(
                    topics: [env.topics[.planClassified], env.topics[.scheduleChanged], env.topics[.appointmentChanged]])
                let worker = ConsumerWorker(
                    consumer: consumer, pool: env.pool, handler: handler, clock: env.clock,
                    settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                let planner = handler.planner
                try await env.run(
                    [worker],
                    probes: [
                        worker.probe, .offers, .calendars(staleAfter: settings.calendarStaleAfter),
                        .calendarCache { planner.calendarCacheUsage },
                    ])
            }
        }
    }

    struct Escalation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Fire escalation-ladder timers (nudges, coordinator tasks) and follow the case lifecycle (appointment.changed, plan.changed).",
            discussion: "Timers are claimed with FOR UPDATE SKIP LOCKED and a lease, so any number of escalation workers can run.")
        @OptionGroup var options: WorkerOptions
        @OptionGroup var booking: BookingOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions
        @Option(
            help: "Seconds a claimed timer stays reserved before another worker may take it over. Env: PLANROUTER_TIMER_LEASE. Default: 60."
        )
        var timerLease: Int?
        @Option(
            help: ArgumentHelp(
                "Seconds after which a case still accepted with no offer and no open task is stalled and gets a routing_stalled coordinator task. Env: PLANROUTER_STALLED_CASE_AFTER. Default: 300.",
                discussion: "Measured on the worker's clock (--clock) from when PlanRouter recorded the acceptance; checked every 30 s."))
        var stalledCaseAfter: Int?

        func run() async throws {
            try await reportingErrors {
                let settings = try booking.settings()
                let env = try await WorkerEnvironment.make(kind: "escalation", options, database, kafka, log)
                let lifecycle = ConsumerWorker(
                    consumer: try env.consumer(topics: [env.topics[.appointmentChanged], env.topics[.planChanged]]), pool: env.pool,
                    handler: LifecycleHandler(consumerName: env.groupID, topics: env.topics), clock: env.clock,
                    settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                let lease = timerLease ?? Environment.value("PLANROUTER_TIMER_LEASE").flatMap(Int.init) ?? 60
                let stalledAfter = stalledCaseAfter ?? Environment.value("PLANROUTER_STALLED_CASE_AFTER").flatMap(Int.init) ?? 300
                guard stalledAfter > 0 else { throw CLIError("--stalled-case-after must be a positive number of seconds") }
                let planner = OfferPlanner(topics: env.topics, settings: settings)
                let timers = EscalationWorker(
                    conninfo: env.databaseURL, pool: env.pool, offers: planner, clock: env.clock,
                    settings: EscalationSettings(
                        batchSize: max(env.batchSize, 1000), lease: .seconds(lease), stalledCaseAfter: .seconds(stalledAfter)),
                    telemetry: env.telemetry,
                    logger: env.logger)
                try await env.run(
                    [lifecycle, timers],
                    probes: [lifecycle.probe, .timers(timers.stats), .calendarCache { planner.calendarCacheUsage }])
            }
        }
    }

    struct Notify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consume patient.messages and deliver each message once: SMS through Twilio, email through SMTP.",
            discussion: """
                Deliveries are recorded in message_deliveries (one per message id) in the consuming transaction, then
                claimed with FOR UPDATE SKIP LOCKED and a lease and sent; any number of notify workers can run.
                Needs --messaging-config (docs/messaging.md).
                """)
        @OptionGroup var options: WorkerOptions
        @OptionGroup var messaging: MessagingOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions
        @Option(
            help:
                "Seconds a claimed delivery stays reserved before another sender may take it over. Env: PLANROUTER_NOTIFY_LEASE. Default: 60."
        )
        var sendLease: Int?
        @Option(help: "Attempts before a delivery fails for good. Env: PLANROUTER_NOTIFY_MAX_ATTEMPTS. Default: 8.")
        var maxAttempts: Int?
        @Option(
            help: "Seconds before the first retry of a transient failure (doubling up to 600). Env: PLANROUTER_NOTIFY_RETRY. Default: 5.")
        var retrySeconds: Int?
        @Option(help: "Provider calls in flight at once. Env: PLANROUTER_NOTIFY_CONCURRENCY. Default: 16.")
        var concurrency: Int?

        func run() async throws {
            try await reportingErrors {
                guard let configuration = try messaging.resolved() else {
                    throw CLIError("worker notify needs --messaging-config (or PLANROUTER_MESSAGING_CONFIG): see docs/messaging.md")
                }
                let env = try await WorkerEnvironment.make(kind: "notify", options, database, kafka, log)
                let lease = sendLease ?? Environment.value("PLANROUTER_NOTIFY_LEASE").flatMap(Int.init) ?? 60
                let attempts = maxAttempts ?? Environment.value("PLANROUTER_NOTIFY_MAX_ATTEMPTS").flatMap(Int.init) ?? 8
                let retry = retrySeconds ?? Environment.value("PLANROUTER_NOTIFY_RETRY").flatMap(Int.init) ?? 5
                let inFlight = concurrency ?? Environment.value("PLANROUTER_NOTIFY_CONCURRENCY").flatMap(Int.init) ?? 16
                guard lease > 0, attempts > 0, retry > 0, (1...256).contains(inFlight) else {
                    throw CLIError("--send-lease, --max-attempts and --retry-seconds must be positive, --concurrency 1...256")
                }
                let consumer = ConsumerWorker(
                    consumer: try env.consumer(topics: [env.topics[.patientMessages]]), pool: env.pool,
                    handler: NotifyHandler(consumerName: env.groupID, topics: env.topics), clock: env.clock,
                    settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                let sender = NotifySender(
                    pool: env.pool, adapters: ChannelAdapters(configuration: configuration), clock: env.clock,
                    settings: NotifySettings(
                        lease: .seconds(lease), retryInitial: .seconds(retry), maxAttempts: attempts, concurrency: inFlight),
                    topics: env.topics, telemetry: env.telemetry, logger: env.logger)
                try await env.run([consumer, sender], probes: [consumer.probe])
            }
        }
    }

    struct Payments: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Consume payments.deposit-requests and create a Stripe Checkout Session for each deposit.",
            discussion: """
                Deposits are recorded in the deposits table (one per deposit id) in the consuming transaction; a loop in
                the same process creates each one's Checkout Session (Idempotency-Key = deposit id) and writes the
                patient's message with the checkout URL through the outbox. Needs --messaging-config with a payments
                section per organization (docs/payments.md). Paid and expired sessions arrive on `serve`'s
                POST /webhooks/stripe.
                """)
        @OptionGroup var options: WorkerOptions
        @OptionGroup var messaging: MessagingOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                guard let configuration = try messaging.resolved() else {
                    throw CLIError("worker payments needs --messaging-config (or PLANROUTER_MESSAGING_CONFIG): see docs/payments.md")
                }
                let env = try await WorkerEnvironment.make(kind: "payments", options, database, kafka, log)
                let consumer = ConsumerWorker(
                    consumer: try env.consumer(topics: [env.topics[.depositRequests]]), pool: env.pool,
                    handler: PaymentsHandler(consumerName: env.groupID, topics: env.topics), clock: env.clock,
                    settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                let sessions = DepositSessions(
                    pool: env.pool, configuration: configuration, clock: env.clock, topics: env.topics, logger: env.logger)
                try await env.run([consumer, sessions], probes: [consumer.probe])
            }
        }
    }

    struct Relay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish the outbox to Kafka with the idempotent producer; several relays may run at once.")
        @OptionGroup var options: WorkerOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions
        @Option(help: "Delete published rows after this many hours. Env: PLANROUTER_OUTBOX_RETENTION_HOURS. Default: 24.")
        var retentionHours: Int?
        @Option(
            help: ArgumentHelp(
                "Seconds a topic is paused after the cluster refused it with an error that needs an operator (authorization, unknown topic). Env: PLANROUTER_OUTBOX_TOPIC_PAUSE. Default: 5.",
                discussion: "The rows stay pending; each refusal in a row doubles the pause, up to --topic-pause-max."))
        var topicPause: Int?
        @Option(help: "Longest pause of a refused topic, in seconds. Env: PLANROUTER_OUTBOX_TOPIC_PAUSE_MAX. Default: 300.")
        var topicPauseMax: Int?

        func run() async throws {
            try await reportingErrors {
                let env = try await WorkerEnvironment.make(kind: "relay", options, database, kafka, log)
                let hours = retentionHours ?? Environment.value("PLANROUTER_OUTBOX_RETENTION_HOURS").flatMap(Int.init) ?? 24
                let pause = topicPause ?? Environment.value("PLANROUTER_OUTBOX_TOPIC_PAUSE").flatMap(Int.init) ?? 5
                let pauseMax = topicPauseMax ?? Environment.value("PLANROUTER_OUTBOX_TOPIC_PAUSE_MAX").flatMap(Int.init) ?? 300
                guard pause > 0, pauseMax >= pause else { throw CLIError("--topic-pause must be positive and at most --topic-pause-max") }
                let relay = OutboxRelay(
                    conninfo: env.databaseURL, producer: try env.producer(defaults: OutboxRelay.producerDefaults), clock: env.clock,
                    settings: RelaySettings(
                        batchSize: env.batchSize, retention: .seconds(hours * 3600), topics: env.topics.all, topicPause: .seconds(pause),
                        topicPauseMax: .seconds(pauseMax)),
                    telemetry: env.telemetry, logger: env.logger)
                try await env.run([relay], probes: [.relay(relay.stats)])
            }
        }
    }
}

struct ClassifierOptions: ParsableArguments {
    @Option(
        help:
            "Refuse acceptances dated more than this many hours after the worker's clock. Env: PLANROUTER_ACCEPTANCE_MAX_AHEAD_HOURS. Default: 24."
    )
    var acceptanceMaxAheadHours: Int?
    @Option(
        help:
            "Refuse acceptances dated more than this many days before the worker's clock. Env: PLANROUTER_ACCEPTANCE_MAX_AGE_DAYS. Default: 730."
    )
    var acceptanceMaxAgeDays: Int?

    func settings() throws -> ClassifierSettings {
        let ahead = acceptanceMaxAheadHours ?? Environment.value("PLANROUTER_ACCEPTANCE_MAX_AHEAD_HOURS").flatMap(Int.init) ?? 24
        guard (0...8_760).contains(ahead) else { throw CLIError("--acceptance-max-ahead-hours must be between 0 and 8760") }
        let age = acceptanceMaxAgeDays ?? Environment.value("PLANROUTER_ACCEPTANCE_MAX_AGE_DAYS").flatMap(Int.init) ?? 730
        guard (1...36_500).contains(age) else { throw CLIError("--acceptance-max-age-days must be between 1 and 36500") }
        return ClassifierSettings(
            acceptanceWindow: AcceptanceWindow(maximumLead: .seconds(ahead * 3600), maximumAge: .seconds(age * 86_400)))
    }
}

struct BookingOptions: ParsableArguments {
    @Option(help: "Booking links are <base>/book/<token>. Env: PLANROUTER_BOOKING_BASE_URL. Default: http://localhost:8080.")
    var bookingBaseURL: String?
    @Option(
        help: ArgumentHelp(
            "Secret for signing booking links (HMAC-SHA256); the booking service needs the same one. Env: PLANROUTER_BOOKING_SECRET.",
            discussion: "Required. Prefer the environment variable: command lines are visible to other users."))
    var bookingSecret: String?
    @Option(
        help: ArgumentHelp(
            "Hours after which a location's schedule mirror counts as stale. Env: PLANROUTER_CALENDAR_STALE_HOURS. Default: 24.",
            discussion: "A location with no schedule.changed applied for longer does not self-book: "
                + "its cases go to a coordinator (calendar stale)."))
    var calendarStaleHours: Int?

    @Option(
        help: ArgumentHelp(
            "Memory for cached location calendars, in MiB. Env: PLANROUTER_CALENDAR_CACHE_MB. Default: \(OfferSettings.defaultCalendarCacheMB).",
            discussion: "Least recently used locations are dropped beyond it and loaded again from PostgreSQL when needed."))
    var calendarCacheMb: Int?

    func settings() throws -> OfferSettings {
        guard let secret = bookingSecret ?? Environment.value("PLANROUTER_BOOKING_SECRET") else {
            throw CLIError(
                "no booking secret: set PLANROUTER_BOOKING_SECRET (at least 32 random characters; `scripts/services env` prints a local one)"
            )
        }
        guard secret.utf8.count >= 32 else { throw CLIError("PLANROUTER_BOOKING_SECRET is too short: use at least 32 random characters") }
        let base = bookingBaseURL ?? Environment.value("PLANROUTER_BOOKING_BASE_URL") ?? "http://localhost:8080"
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else { throw CLIError("--booking-base-url must be an http(s) URL") }
        var settings = OfferSettings(bookingBaseURL: base, bookingSecret: secret)
        let staleText = calendarStaleHours.map(String.init) ?? Environment.value("PLANROUTER_CALENDAR_STALE_HOURS") ?? "24"
        guard let staleHours = Int(staleText), staleHours >= 1 else {
            throw CLIError("--calendar-stale-hours must be a whole number of hours, at least 1, not \(staleText)")
        }
        settings.calendarStaleAfter = .seconds(staleHours * 3600)
        let cacheText =
            calendarCacheMb.map(String.init) ?? Environment.value("PLANROUTER_CALENDAR_CACHE_MB")
            ?? String(OfferSettings.defaultCalendarCacheMB)
        guard let cacheMB = Int(cacheText), (1...4096).contains(cacheMB) else {
            throw CLIError("--calendar-cache-mb must be a whole number of MiB between 1 and 4096, not \(cacheText)")
        }
        settings.calendarCacheBytes = cacheMB << 20
        return settings
    }
}

struct WorkerOptions: ParsableArguments {
    @Option(help: "Most events applied per database transaction. Env: PLANROUTER_BATCH_SIZE. Default: 500.")
    var batchSize: Int?
    @Option(help: "Consumer group id. Env: PLANROUTER_GROUP_ID. Default: planrouter-<worker kind>.")
    var groupID: String?
    @Option(help: "wall (production) or simulated (read from the sim_clock table). Env: PLANROUTER_CLOCK. Default: wall.")
    var clock: String?
    @Option(help: "Seconds a graceful shutdown may take before the process is cancelled. Env: PLANROUTER_SHUTDOWN_TIMEOUT. Default: 20.")
    var shutdownTimeout: Int?
    @Option(
        help: ArgumentHelp(
            "Port of the worker's /healthz, /readyz and /metrics; 0 turns the HTTP server off. Env: PLANROUTER_METRICS_PORT. Default: 9464.",
            discussion: "Run several workers on one host with a port each."))
    var metricsPort: Int?
    @Option(help: "Address of the worker's HTTP server (0.0.0.0 in a container). Env: PLANROUTER_METRICS_HOST. Default: 127.0.0.1.")
    var metricsHost: String?
}

/// What every worker process sets up: logger, database pool, clock, Kafka settings.
struct WorkerEnvironment {
    var kind: String
    var logger: Logger
    var databaseURL: String
    var pool: PostgresPool
    var clock: any PlanRouterClock
    var brokers: String
    var properties: [String: String]
    var topics: TopicNames
    var groupID: String
    var batchSize: Int
    var shutdownTimeout: Int
    /// nil: no HTTP server.
    var metricsAddress: (host: String, port: Int)?
    /// The process's metrics, served by `/metrics`.
    var telemetry: WorkerTelemetry

    static func make(
        kind: String, _ o: WorkerOptions, _ db: DatabaseOptions, _ kafka: KafkaOptions, _ log: LogOptions
    ) async throws -> WorkerEnvironment {
        MallocArenas.limit()
        let logger = try log.makeLogger("planrouter.\(kind)")
        let url = try db.resolved()
        let brokers = try kafka.resolvedBrokers()
        let pool = PostgresPool(conninfo: url, size: 4, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        // Fail fast with a clear message when the database is unreachable or the schema is missing.
        try await pool.withConnection { conn in
            guard try await SchemaRepository.hasTable("outbox", on: conn) else {
                throw CLIError("the database has no PlanRouter schema: run `planrouter migrate` first")
            }
        }
        let clockName = o.clock ?? Environment.value("PLANROUTER_CLOCK") ?? "wall"
        let clock: any PlanRouterClock
        switch clockName {
        case "wall": clock = WallClock()
        case "simulated": clock = DatabaseClock(pool: pool)
        default: throw CLIError("--clock must be wall or simulated, not \(clockName)")
        }
        // Likewise for the broker: one clear line instead of librdkafka retrying forever.
        let properties = try kafka.resolvedProperties()
        let probe = try KafkaProducer(bootstrapServers: brokers, properties: properties, logger: logger)
        do { try await probe.checkReachable(timeout: .seconds(10)) } catch {
            await probe.close()
            throw CLIError(
                "cannot reach the Kafka brokers \(brokers): \(error) (check PLANROUTER_KAFKA_BROKERS; scripts/services up starts a dev broker)"
            )
        }
        await probe.close()
        let batch = o.batchSize ?? Environment.value("PLANROUTER_BATCH_SIZE").flatMap(Int.init) ?? 500
        guard (1...10_000).contains(batch) else { throw CLIError("--batch-size must be between 1 and 10000") }
        let metricsPortText = o.metricsPort.map(String.init) ?? Environment.value("PLANROUTER_METRICS_PORT") ?? "9464"
        guard let metricsPort = Int(metricsPortText), (0...65_535).contains(metricsPort) else {
            throw CLIError("--metrics-port must be between 0 (off) and 65535, not \(metricsPortText)")
        }
        let metricsHost = o.metricsHost ?? Environment.value("PLANROUTER_METRICS_HOST") ?? "127.0.0.1"
        return WorkerEnvironment(
            kind: kind, logger: logger, databaseURL: url, pool: pool, clock: clock, brokers: brokers,
            properties: properties, topics: try kafka.resolvedTopics(),
            groupID: o.groupID ?? Environment.value("PLANROUTER_GROUP_ID") ?? "planrouter-\(kind)", batchSize: batch,
            shutdownTimeout: o.shutdownTimeout ?? Environment.value("PLANROUTER_SHUTDOWN_TIMEOUT").flatMap(Int.init) ?? 20,
            metricsAddress: metricsPort == 0 ? nil : (metricsHost, metricsPort), telemetry: WorkerTelemetry(worker: kind))
    }

    /// A group consumer with `ConsumerDefaults` under the operator's properties (which win).
    func consumer(topics: [String]) throws -> KafkaConsumer {
        try KafkaConsumer(
            bootstrapServers: brokers, groupID: groupID, topics: topics,
            properties: ConsumerDefaults.properties.merging(properties) { _, mine in mine }, logger: logger)
    }

    /// A producer with `defaults` under the operator's properties (which win).
    func producer(defaults: [String: String] = [:]) throws -> KafkaProducer {
        try KafkaProducer(bootstrapServers: brokers, properties: defaults.merging(properties) { _, mine in mine }, logger: logger)
    }

    /// Runs the services, and the HTTP server of `/healthz`, `/readyz` and `/metrics`
    /// over `probes`, until SIGTERM/SIGINT, then shuts them down gracefully within the bound.
    func run(_ services: [any Service], probes: [WorkerProbe]) async throws {
        var all = services
        if let address = metricsAddress {
            let metrics = WorkerMetrics(telemetry: telemetry, probes: probes, pool: pool, clock: clock)
            all.append(WorkerHTTPServer.application(metrics, host: address.host, port: address.port, logger: logger))
            logger.info("worker http listening", metadata: ["http.host": "\(address.host)", "http.port": "\(address.port)"])
        }
        var config = ServiceGroupConfiguration(
            services: all.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        config.maximumGracefulShutdownDuration = .seconds(shutdownTimeout)
        try await ServiceGroup(configuration: config).run()
        await pool.close()
    }
}
