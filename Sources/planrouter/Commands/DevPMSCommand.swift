import ArgumentParser
import Foundation
import Logging
import PlanRouterEmulators
import ServiceLifecycle

struct DevPMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-pms",
        abstract: "Run a local PMS API emulator, until SIGTERM/SIGINT (development and tests only: NOT the vendor's service).",
        subcommands: [OpenDental.self, NexHealth.self])

    struct OpenDental: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "opendental",
            abstract: "Emulate the Open Dental API at http://HOST:PORT/api/v1, one office per customer key (docs/connectors.md).",
            discussion: """
                Requests need `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}` (401 otherwise). Faults on demand: \
                POST /_emulator/faults {"status":429,"retry_after":2,"count":3}. Offices come from --offices (YAML: \
                [{customer_key, time_zone}]) or --seed N (N offices, each with providers, operatories and four weeks of hours).
                """)
        @Option(help: "Port to listen on.") var port: Int = 8089
        @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
        @Option(help: "The developer key requests must carry. Env: PLANROUTER_OPENDENTAL_DEVELOPER_KEY. Default: dev-key.")
        var developerKey: String?
        @Option(help: "Offices file (YAML list of customer_key and time_zone).") var offices: String?
        @Option(help: "Seed this many offices (customer keys office-1-key …) in --time-zone.") var seed: Int?
        @Option(help: "Time zone of seeded offices.") var timeZone: String = "America/New_York"
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.dev-pms")
                let key = developerKey ?? Environment.value("PLANROUTER_OPENDENTAL_DEVELOPER_KEY") ?? "dev-key"
                let emulator = OpenDentalEmulator(developerKey: key)
                if let path = offices {
                    for o in try OpenDentalSeed.offices(yaml: try String(contentsOfFile: path, encoding: .utf8)) {
                        emulator.addOffice(customerKey: o.customerKey, timeZone: o.timeZone)
                    }
                }
                if let n = seed {
                    guard let zone = TimeZone(identifier: timeZone) else { throw CLIError("unknown --time-zone \(timeZone)") }
                    try OpenDentalSeed.seed(emulator, offices: n, timeZone: zone, from: Date())
                }
                let app = OpenDentalServer.application(emulator, host: host, port: port, logger: logger)
                print(
                    "Open Dental emulator on http://\(host):\(port)/api/v1 (developer key from PLANROUTER_OPENDENTAL_DEVELOPER_KEY or dev-key)"
                )
                var config = ServiceGroupConfiguration(
                    services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
                config.maximumGracefulShutdownDuration = .seconds(5)
                try await ServiceGroup(configuration: config).run()
            }
        }
    }

    struct NexHealth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "nexhealth",
            abstract: "Emulate the NexHealth API at http://HOST:PORT and send signed webhooks to --webhook-url (docs/connectors.md).",
            discussion: """
                POST /authenticates with `Authorization: <api key>` gives a bearer token for the other requests (401 otherwise). \
                POST /appointments answers 201 and writes into the emulated PMS on POST /_emulator/insertions/<subdomain>, \
                reported by a signed appointment_insertion webhook (retried). Faults on demand: POST /_emulator/faults \
                {"status":429,"retry_after":2,"count":3,"path_prefix":"/appointments"}.
                """)
        @Option(help: "Port to listen on.") var port: Int = 8090
        @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
        @Option(help: "The API key requests must carry. Env: PLANROUTER_NEXHEALTH_API_KEY. Default: dev-key.") var apiKey: String?
        @Option(help: "The webhook endpoint's secret. Env: PLANROUTER_NEXHEALTH_WEBHOOK_SECRET. Default: dev-secret.")
        var webhookSecret: String?
        @Option(help: "Where webhooks go, e.g. http://127.0.0.1:8080/connectors/nexhealth/webhook. Default: none are sent.")
        var webhookURL: String?
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.dev-pms")
                let emulator = NexHealthEmulator(
                    settings: .init(
                        apiKey: apiKey ?? Environment.value("PLANROUTER_NEXHEALTH_API_KEY") ?? "dev-key",
                        webhookSecret: webhookSecret ?? Environment.value("PLANROUTER_NEXHEALTH_WEBHOOK_SECRET") ?? "dev-secret",
                        webhookURL: webhookURL))
                let app = NexHealthServer.application(emulator, host: host, port: port, logger: logger)
                print("NexHealth emulator on http://\(host):\(port) (not NexHealth)")
                var config = ServiceGroupConfiguration(
                    services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
                config.maximumGracefulShutdownDuration = .seconds(5)
                try await ServiceGroup(configuration: config).run()
            }
        }
    }
}
