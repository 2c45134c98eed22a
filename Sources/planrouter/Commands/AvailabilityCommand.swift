import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

struct AvailabilityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "availability", abstract: "Manage the availability mirror.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "First sync: load schedule.changed and appointment.changed events (NDJSON CloudEvents) straight into PostgreSQL.",
            discussion: "Applied in transactions of --batch lines; rejected lines are reported with line number and reason; exit 1 if any.")
        @Argument(help: "NDJSON file; '-' or nothing reads standard input.") var file: String?
        @Option(help: "Lines per transaction.") var batch: Int = 500
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.availability", defaultLevel: .error)
                let input = try openInput(file)
                let pool = PostgresPool(
                    conninfo: try database.resolved(), size: 1, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
                let importer = AvailabilityImport(pool: pool)
                var events: [CloudEvent] = []
                var lines: [Int] = []
                var total = AvailabilityImport.Summary()
                var lineNumber = 0
                func flush() async throws {
                    guard !events.isEmpty else { return }
                    let (s, rejected) = try await importer.apply(events, now: WallClock().now())
                    total.schedules += s.schedules
                    total.appointments += s.appointments
                    total.rejected += s.rejected
                    for (i, reason) in rejected { FileHandle.standardError.write(Data("line \(lines[i]): rejected: \(reason)\n".utf8)) }
                    FileHandle.standardError.write(
                        Data("imported \(total.schedules) schedules, \(total.appointments) appointments so far\n".utf8))
                    events.removeAll()
                    lines.removeAll()
                }
                for line in LineReader(input) {
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                    do {
                        events.append(try EventValidator.shared.decode(line, expecting: [.scheduleChanged, .appointmentChanged]))
                        lines.append(lineNumber)
                    } catch {
                        total.rejected += 1
                        FileHandle.standardError.write(Data("line \(lineNumber): rejected: \(error)\n".utf8))
                    }
                    if events.count >= batch { try await flush() }
                }
                try await flush()
                await pool.close()
                print("schedules \(total.schedules), appointments \(total.appointments), rejected \(total.rejected)")
                if total.rejected > 0 { throw ExitCode.failure }
            }
        }
    }
}
