import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterSimulation
import PlanRouterStore

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Play a DSO's month through the running cluster on the simulated clock and print the outcome next to the manual baseline.",
        discussion: """
            Needs the workers (classifier, offer, escalation, relay, notify, payments) and `planrouter serve` running with
            --clock simulated against the same database and brokers, and the emulators the patients are reached through:
            `planrouter dev-comms` (Twilio), scripts/lib/smtp_sink.py (SMTP) and `planrouter dev-payments` (Stripe), as
            scripts/demo starts them. The simulator publishes schedules, the PMS's existing appointments and the
            acceptances through Kafka; patients read their texts and emails in the emulators, book through the links or
            reply 1/2/3, text STOP, and pay deposits on the Stripe emulator's checkout pages; coordinators work their tasks
            through the HTTP API; sim_clock (and the Stripe emulator's business clock) advances. The outcome is read from
            the pipeline's tables. The model is described in docs/simulation.md.
            """)

    @Option(help: "Random seed: the same seed gives the same DSO and the same patient decisions.") var seed: UInt64 = 42
    @Option(help: "Accepted plans in the month.") var plans: Int = 612
    @Option(help: "Days simulated.") var days: Int = 30
    @Option(help: "Locations.") var locations: Int = 4
    @Option(help: "First day (YYYY-MM-DD, UTC midnight).") var start: String = "2026-11-02"
    @Option(
        name: .customLong("param"),
        help: "Set a model parameter, name=value, repeatable (docs/simulation.md lists them), e.g. book_from_nudge=0.2.")
    var params: [String] = []
    @Option(
        help: ArgumentHelp(
            "Where the practices live: opendental (in the Open Dental emulator, read by `planrouter connector opendental`) or events (published to Kafka directly).",
            discussion: "opendental needs `planrouter dev-pms opendental` and the connector running; see --prepare-pms."))
    var pms: String = PMSMode.openDental.rawValue
    @Option(
        help: "Open Dental emulator root URL (--pms opendental). Env: PLANROUTER_OPENDENTAL_EMULATOR_URL. Default: http://127.0.0.1:8089.")
    var opendentalURL: String?
    @Option(
        help: ArgumentHelp(
            "Only prepare --pms opendental: create the DSO's offices in the emulator, write the connector's offices file to this path, and exit.",
            discussion: "Start `planrouter connector opendental --offices PATH` next, then run simulate without this option."))
    var preparePms: String?
    @Option(help: "With --prepare-pms: the connector's change-poll cadence in the offices file, in seconds (0.2 at least). Default: 1.")
    var connectorPollSeconds: Double = 1
    @Option(help: "Booking service base URL. Env: PLANROUTER_BOOKING_BASE_URL. Default: http://localhost:8080.") var bookingURL: String?
    @Option(help: "Staff surface base URL. Env: PLANROUTER_STAFF_BASE_URL. Default: http://localhost:8081.") var staffURL: String?
    @Option(help: "API key of the simulated organization (`planrouter staff add-key --org org-sim`). Env: PLANROUTER_STAFF_API_KEY.")
    var staffKey: String?
    @Option(help: "The Twilio emulator (planrouter dev-comms) base URL: the patients' phones. Env: PLANROUTER_SIM_TWILIO_URL.")
    var twilioEmulatorURL: String?
    @Option(help: "The SMTP sink's mailbox directory (scripts/lib/smtp_sink.py --dir). Env: PLANROUTER_SIM_SMTP_MAILBOX.")
    var smtpMailbox: String?
    @Option(help: "The Stripe emulator (planrouter dev-payments) base URL. Env: PLANROUTER_SIM_STRIPE_URL.")
    var stripeEmulatorURL: String?
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        try await reportingErrors {
            guard let startDate = RFC3339.parse(start + "T00:00:00Z") else { throw CLIError("--start must be a date YYYY-MM-DD") }
            guard plans > 0, (1...365).contains(days), (1...6).contains(locations) else {
                throw CLIError("--plans must be positive, --days 1...365, --locations 1...6")
            }
            let logger = try log.makeLogger("planrouter.simulate", defaultLevel: .error)
            var model = SimulationModel()
            model.plans = plans
            model.days = days
            model.locations = locations
            for p in params { try model.set(p) }
            guard let mode = PMSMode(rawValue: pms) else { throw CLIError("--pms must be opendental or events") }
            var practice = OpenDentalPractice(
                emulatorURL: opendentalURL ?? Environment.value("PLANROUTER_OPENDENTAL_EMULATOR_URL") ?? "http://127.0.0.1:8089")
            if let path = preparePms {
                guard connectorPollSeconds >= 0.2 else { throw CLIError("--connector-poll-seconds must be at least 0.2") }
                practice.pollSeconds = connectorPollSeconds
                practice.referenceSeconds = 2 * connectorPollSeconds
                try await practice.createOffices(model)
                try practice.connectorOfficesFile(model).write(toFile: path, atomically: true, encoding: .utf8)
                print("wrote \(path): \(model.locations) Open Dental offices at \(practice.emulatorURL)")
                return
            }
            let pool = PostgresPool(
                conninfo: try database.resolved(), size: 2, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
            let url = bookingURL ?? Environment.value("PLANROUTER_BOOKING_BASE_URL") ?? "http://localhost:8080"
            var settings = Simulator.Settings(start: startDate, seed: seed, bookingURL: url)
            settings.topics = try kafka.resolvedTopics()
            settings.staffURL = staffURL ?? Environment.value("PLANROUTER_STAFF_BASE_URL") ?? "http://localhost:8081"
            guard let key = staffKey ?? Environment.value("PLANROUTER_STAFF_API_KEY"), !key.isEmpty else {
                throw CLIError(
                    "give --staff-key: coordinators resolve tasks through the staff API (planrouter staff add-key --org org-sim)")
            }
            settings.staffKey = key
            let channels = [
                twilioEmulatorURL ?? Environment.value("PLANROUTER_SIM_TWILIO_URL"),
                smtpMailbox ?? Environment.value("PLANROUTER_SIM_SMTP_MAILBOX"),
                stripeEmulatorURL ?? Environment.value("PLANROUTER_SIM_STRIPE_URL"),
            ]
            if let twilio = channels[0], let mailbox = channels[1], let stripe = channels[2] {
                settings.patientChannels = PatientChannels(twilioEmulatorURL: twilio, smtpMailbox: mailbox, stripeEmulatorURL: stripe)
            } else if channels.contains(where: { $0 != nil }) {
                throw CLIError(
                    "give all of --twilio-emulator-url, --smtp-mailbox and --stripe-emulator-url (patients receive their messages there; scripts/demo starts them), or none"
                )
            } else {
                FileHandle.standardError.write(
                    Data("[simulate] no patient channels given: patients read their messages off Kafka and book by link only\n".utf8))
            }
            settings.pms = mode
            settings.openDental = practice
            let simulator = try Simulator(
                model: model, settings: settings, pool: pool, brokers: try kafka.resolvedBrokers(),
                kafkaProperties: try kafka.resolvedProperties(),
                logger: logger)
            let outcome = try await simulator.run()
            print(outcome.render(model: model))
            await pool.close()
        }
    }
}
