import ArgumentParser

@main
struct PlanRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planrouter",
        abstract: "PlanRouter: accepted treatment plans to booked appointments, through Kafka workers and PostgreSQL.",
        discussion: """
            Local quick start: `scripts/services up` starts PostgreSQL and the dev broker, `eval "$(scripts/services env)"`
            exports their addresses, `planrouter migrate` creates the schema, then start the workers.
            Every option can also be set with the PLANROUTER_* environment variable named in its help.
            """,
        subcommands: [
            MigrateCommand.self, WorkerCommand.self, ServeCommand.self, ProduceCommand.self, RulesCommand.self, AvailabilityCommand.self,
            OutboxCommand.self, DLQCommand.self, SimulateCommand.self, ReportCommand.self, DevBrokerCommand.self, DevBrokerCtlCommand.self,
            DevCommsCommand.self, DevPaymentsCommand.self,
            BenchCommand.self, StaffCommand.self, RetentionCommand.self, ConnectorCommand.self, DevPMSCommand.self,
            LocationsCommand.self,
        ]
    )
}
