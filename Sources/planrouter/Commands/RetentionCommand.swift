import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Remove patient contact details from closed cases past an age; prune operational rows nothing reads any more.",
        subcommands: [Anonymise.self, Prune.self])

    /// A platform command's connection: every statement names its rows' organizations (row-level security '*').
    static func connect(_ database: DatabaseOptions, _ log: LogOptions) async throws -> PostgresConnection {
        let logger = try log.makeLogger("planrouter.retention", defaultLevel: .error)
        return try await PostgresConnection.connect(
            try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete inbox ids, released holds, finished timers and worked-off webhook deliveries past their retention.",
            discussion: """
                Each table is pruned in short chunks (one statement each, no long locks) with progress on stderr; safe
                to run while the workers run, again, or daily from cron. Never touched: plans, plan events, offers,
                tasks, bookings, deposits, dead letters (the case's record and the analytics' source), pending
                timers, active holds, holds still shown as PMS blockouts or named by a deposit being paid. The
                outbox is pruned by the relay (`worker relay --retention`). --inbox-days must exceed every window in
                which an event can arrive again (the longest topic retention, 30 days for plan.accepted in
                docs/operations.md; a dead-letter replay; a connector watermark reset): an event older than that is
                applied again if it does come back.
                """)
        @Option(help: "Inbox ids older than this many days go (default 45). Env: PLANROUTER_INBOX_RETENTION_DAYS.") var inboxDays: Int?
        @Option(help: "Holds released this many days ago go (default 30).") var holdsDays: Int = 30
        @Option(help: "Fired or cancelled timers created this many days ago go (default 30).") var timersDays: Int = 30
        @Option(help: "Rows per statement.") var batch: Int = 10_000
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let inbox = inboxDays ?? Environment.value("PLANROUTER_INBOX_RETENTION_DAYS").flatMap(Int.init) ?? 45
                for (name, days) in [("--inbox-days", inbox), ("--holds-days", holdsDays), ("--timers-days", timersDays)] {
                    guard days >= 1 else { throw CLIError("\(name) must be at least 1 day") }
                }
                guard (100...100_000).contains(batch) else { throw CLIError("--batch must be between 100 and 100000") }
                let conn = try await RetentionCommand.connect(database, log)
                defer { conn.close() }
                let retention = OperationalRetention(inboxDays: inbox, holdsDays: holdsDays, timersDays: timersDays, batch: batch)
                let p = try await retention.run(now: WallClock().now(), on: conn) {
                    FileHandle.standardError.write(Data("retention: \($0)\n".utf8))
                }
                print(
                    "pruned \(p.inbox) inbox id(s) older than \(inbox) d, \(p.holds) released hold(s) and \(p.blockouts) removed "
                        + "blockout(s) older than \(holdsDays) d, \(p.timers) finished timer(s) older than \(timersDays) d, "
                        + "\(p.nexhealthDeliveries) processed NexHealth deliveries older than \(inbox) d")
            }
        }
    }

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
                let conn = try await RetentionCommand.connect(database, log)
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
