import ArgumentParser
import Foundation
import Logging
import PlanRouterEmulators
import ServiceLifecycle

struct DevPMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-pms",
        abstract: "Run a local PMS API emulator, until SIGTERM/SIGINT (development and tests only: NOT the vendor's service).",
        subcommands: [OpenDental.self])

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
}
