import ArgumentParser
import Foundation
import Logging
import PlanRouterConnectors
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import ServiceLifecycle

struct ConnectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connector",
        abstract: "PMS connectors: poll a PMS into events and write bookings back (docs/connectors.md).",
        subcommands: [OpenDental.self, NexHealth.self, Status.self, ResetWatermark.self])

    struct OpenDental: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "opendental",
            abstract: "Poll Open Dental offices (plans, appointments, schedules) and write pms.appointment-requests back to them.",
            discussion: """
                One process serves every office of --offices. Each office is polled on its own cadence; a 401/403 marks \
                that office unhealthy (/readyz, planrouter_connector_office_up, `connector status`) without stopping the others. \
                Events go out through the outbox (run a relay). The write-back consumes pms.appointment-requests as consumer \
                group planrouter-connector-opendental (--group-id): run one group per offices file.
                """)
        @Option(help: "The offices file (YAML or JSON; docs/connectors.md). Env: PLANROUTER_OPENDENTAL_OFFICES.")
        var offices: String?
        @Option(
            help: ArgumentHelp(
                "Open Dental API base URL. Env: PLANROUTER_OPENDENTAL_BASE_URL. Default: the file's base_url, else https://api.opendental.com/api/v1.",
                discussion: "`planrouter dev-pms opendental` serves a local stand-in at http://127.0.0.1:PORT/api/v1."))
        var baseURL: String?
        @Option(
            help: ArgumentHelp(
                "Seconds one Open Dental request may take. Env: PLANROUTER_OPENDENTAL_TIMEOUT. Default: 30.",
                discussion: "A timed-out write is retried; the retry first looks for the appointment it may have made."))
        var requestTimeout: Int?
        @Flag(help: "Poll only; do not consume pms.appointment-requests.") var noWriteback = false
        @OptionGroup var options: WorkerOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                guard let path = offices ?? Environment.value("PLANROUTER_OPENDENTAL_OFFICES") else {
                    throw CLIError("no offices file: set --offices or PLANROUTER_OPENDENTAL_OFFICES (docs/connectors.md)")
                }
                guard let developerKey = Environment.value("PLANROUTER_OPENDENTAL_DEVELOPER_KEY"), !developerKey.isEmpty else {
                    throw CLIError("no developer key: set PLANROUTER_OPENDENTAL_DEVELOPER_KEY (a secret; never on the command line)")
                }
                let config = try OpenDentalConfiguration.load(try String(contentsOfFile: path, encoding: .utf8))
                let offices = try config.resolved()
                let base =
                    baseURL ?? Environment.value("PLANROUTER_OPENDENTAL_BASE_URL") ?? config.baseURL
                    ?? OpenDentalConfiguration.defaultBaseURL
                let timeout = requestTimeout ?? Environment.value("PLANROUTER_OPENDENTAL_TIMEOUT").flatMap(Int.init) ?? 30
                guard timeout >= 1 else { throw CLIError("--request-timeout must be at least 1 second") }
                let env = try await WorkerEnvironment.make(kind: "connector-opendental", options, database, kafka, log)
                let health = ConnectorHealth(telemetry: env.telemetry)
                let pairs = offices.map {
                    (
                        $0,
                        OpenDentalClient(baseURL: base, developerKey: developerKey, customerKey: $0.customerKey, timeout: .seconds(timeout))
                    )
                }
                let clients = Dictionary(pairs.map { ($0.0.id, $0.1) }, uniquingKeysWith: { a, _ in a })
                let connector = OpenDentalConnector(
                    pollers: pairs.map {
                        OfficePoller(office: $0.0, client: $0.1, pool: env.pool, clock: env.clock, topics: env.topics, logger: env.logger)
                    }, pool: env.pool, clock: env.clock, health: health, logger: env.logger)
                var services: [any Service] = [connector]
                var probes: [WorkerProbe] = [.detail({ health.detail() })]
                if !noWriteback {
                    let consumer = ConsumerWorker(
                        consumer: try env.consumer(topics: [env.topics[.appointmentRequests]]), pool: env.pool,
                        handler: WritebackHandler(consumerName: env.groupID, offices: offices, topics: env.topics), clock: env.clock,
                        settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                    let writer = WritebackWorker(
                        offices: offices, clients: clients, pool: env.pool, clock: env.clock, topics: env.topics, health: health,
                        logger: env.logger)
                    services += [consumer, writer]
                    probes.append(consumer.probe)
                }
                try await env.run(services, probes: probes)
            }
        }
    }

    struct NexHealth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nexhealth",
            abstract: "Work off NexHealth webhook deliveries into events and write pms.appointment-requests back through NexHealth.",
            discussion: """
                `planrouter serve --nexhealth FILE` receives the signed webhooks and records them; this process turns them into \
                plan.accepted and appointment.changed (reading thin plans and patients from the NexHealth API), and writes \
                bookings of the file's locations with POST /appointments, closed by NexHealth's insertion webhook. Events go \
                out through the outbox (run a relay). Consumer group planrouter-connector-nexhealth (--group-id).
                """)
        @Option(help: "The NexHealth file (YAML or JSON; docs/connectors.md). Env: PLANROUTER_NEXHEALTH.")
        var nexhealth: String?
        @Option(
            help: "NexHealth API base URL. Env: PLANROUTER_NEXHEALTH_BASE_URL. Default: the file's base_url, else https://nexhealth.info.")
        var baseURL: String?
        @Flag(help: "Intake only; do not consume pms.appointment-requests.") var noWriteback = false
        @OptionGroup var options: WorkerOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                var account = try NexHealthFile.load(nexhealth)
                guard !account.apiKey.isEmpty else {
                    throw CLIError("no NexHealth API key: set api_key_env in the file to a variable that holds it")
                }
                if let base = baseURL ?? Environment.value("PLANROUTER_NEXHEALTH_BASE_URL") { account.baseURL = base }
                let env = try await WorkerEnvironment.make(kind: "connector-nexhealth", options, database, kafka, log)
                let client = NexHealthClient(baseURL: account.baseURL, apiKey: account.apiKey)
                var services: [any Service] = [
                    NexHealthIntake(
                        account: account, client: client, pool: env.pool, clock: env.clock, topics: env.topics, logger: env.logger)
                ]
                var probes: [WorkerProbe] = []
                if !noWriteback {
                    let consumer = ConsumerWorker(
                        consumer: try env.consumer(topics: [env.topics[.appointmentRequests]]), pool: env.pool,
                        handler: WritebackHandler(consumerName: env.groupID, nexhealth: account, topics: env.topics), clock: env.clock,
                        settings: ConsumerSettings(batchSize: env.batchSize), telemetry: env.telemetry, logger: env.logger)
                    services += [
                        consumer,
                        NexHealthWritebackWorker(
                            account: account, client: client, pool: env.pool, clock: env.clock, topics: env.topics, logger: env.logger),
                    ]
                    probes.append(consumer.probe)
                }
                try await env.run(services, probes: probes)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print each office's health (as the connectors last recorded it) and the write-backs by status.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                try await database.withConnection(log) { conn in try await report(conn) }
            }
        }

        func report(_ conn: PostgresConnection) async throws {
            let rows = try await ConnectorStateRepository.health(connector: nil, on: conn)
            if rows.isEmpty { print("no office has been polled yet") }
            for h in rows {
                let since = h.lastSuccessAt.map { "last success \(RFC3339.format($0))" } ?? "never answered"
                let state = h.healthy ? "healthy" : "UNHEALTHY: \(h.lastError ?? "unknown")"
                print("\(h.office.connector) \(h.office.organizationID)/\(h.office.officeID): \(state); \(since)")
            }
            let counts = try await WritebacksRepository.counts(on: conn)
            print(
                "write-backs: " + ["pending", "submitted", "written", "refused"].map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", "))
            let deliveries = try await NexHealthDeliveriesRepository.counts(on: conn)
            if !deliveries.isEmpty {
                print(
                    "nexhealth deliveries: "
                        + ["pending", "processed", "dead"].map { "\($0) \(deliveries[$0] ?? 0)" }.joined(separator: ", "))
            }
        }
    }

    struct ResetWatermark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-watermark",
            abstract: "Forget an office's watermarks: its next poll reads again from the initial look-back.",
            discussion: """
                Safe to run while the connector runs: events it produces again carry the same ids and are skipped \
                (docs/connectors.md, runbook "watermark reset").
                """)
        @Option(help: "The organization.") var organization: String
        @Option(help: "The office id (as in the offices file).") var office: String
        @Option(help: "Only this resource (treatplans, procedurelogs, appointments); default all.") var resource: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let n = try await database.withConnection(log) { conn in
                    try await ConnectorStateRepository.resetWatermarks(
                        ConnectorOffice(organizationID: organization, connector: "opendental", officeID: office), resource: resource,
                        on: conn)
                }
                print("reset \(n) watermark(s)")
            }
        }
    }
}

/// The NexHealth file of `serve --nexhealth` and `connector nexhealth`.
enum NexHealthFile {
    static func load(_ option: String?) throws -> NexHealthAccount {
        guard let path = option ?? Environment.value("PLANROUTER_NEXHEALTH") else {
            throw CLIError("no NexHealth file: set --nexhealth or PLANROUTER_NEXHEALTH (docs/connectors.md)")
        }
        do { return try NexHealthConfiguration.load(try String(contentsOfFile: path, encoding: .utf8)).resolved() } catch let e
            as ConfigurationError
        {
            throw CLIError("\(path): \(e)")
        }
    }
}

extension DatabaseOptions {
    /// One connection for a short command (errors-only logging), closed afterwards.
    func withConnection<T>(_ log: LogOptions, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let logger = try log.makeLogger("planrouter.connector", defaultLevel: .error)
        // Platform commands name the organization in every statement (row-level security '*').
        let conn = try await PostgresConnection.connect(
            try resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        defer { conn.close() }
        return try await body(conn)
    }
}
