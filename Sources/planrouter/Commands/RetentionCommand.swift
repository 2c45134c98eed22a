import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Remove patient contact details from closed cases past an age.",
        subcommands: [Anonymise.self])

    struct Anonymise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "anonymise",
            abstract: "Anonymise closed cases (booked, declined, cancelled, revoked) not changed for --closed-for days.",
            discussion: """
                The plan keeps its ids, procedures, amounts, events and analytics; its patient object keeps only the
                patient id, and its message deliveries lose recipient, subject and body. Runs in batches (one
                transaction each) until none is left, printing progress; safe to run again or from a cron job.
                """)
        @Option(help: "Age in days since the case last changed (default 730). Env: PLANROUTER_RETENTION_DAYS.") var closedFor: Int?
        @Option(help: "Cases per transaction.") var batch: Int = 1000
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let days = closedFor ?? Environment.value("PLANROUTER_RETENTION_DAYS").flatMap(Int.init) ?? 730
                guard days >= 1 else { throw CLIError("--closed-for must be at least 1 day") }
                guard (1...100_000).contains(batch) else { throw CLIError("--batch must be between 1 and 100000") }
                let logger = try log.makeLogger("planrouter.retention", defaultLevel: .error)
                // A platform command: every statement names its rows' organizations (row-level security '*').
                let conn = try await PostgresConnection.connect(
                    try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
                defer { conn.close() }
                let now = WallClock().now()
                let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
                var total = 0
                while true {
                    let n = try await conn.transaction { tx in
                        try await RetentionRepository.anonymiseClosedCases(before: cutoff, now: now, limit: batch, on: tx)
                    }
                    total += n
                    if n > 0 { FileHandle.standardError.write(Data("retention: \(total) case(s) anonymised so far\n".utf8)) }
                    if n < batch { break }
                }
                print("anonymised \(total) closed case(s) unchanged since \(RFC3339.format(cutoff))")
            }
        }
    }
}
