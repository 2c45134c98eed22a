import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// `planrouter report`: the practice benchmark table, from the analytics views of
/// migrations 0004 and 0010 (docs/analytics.md) through `AnalyticsReport`.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "Print the practice benchmarks: same-day scheduling, unscheduled accepted treatment, time to booking and to first offer, first-offer SLA.",
        discussion: """
            Covers the cases accepted on the location-local days --from to --to (inclusive; default the last 30 days \
            ending today, in each location's time zone), overall and by tier. The same numbers are in SQL: \
            analytics_benchmarks(...) (docs/analytics.md).
            """)

    @Option(help: "Only this organization. Env: PLANROUTER_ORGANIZATION. Default: every organization.")
    var organization: String?

    @Option(help: "First day of acceptance, YYYY-MM-DD, location-local. Default: 29 days before --to.")
    var from: String?

    @Option(help: "Last day of acceptance, YYYY-MM-DD, location-local. Default: today in each location's time zone.")
    var to: String?

    @Option(help: "table, json or csv.")
    var format: Format = .table

    @Option(
        name: .customLong("as-of"),
        help: "Compute as of this RFC 3339 time instead of now: each case as it stood then, so a repeated --as-of prints the same report.")
    var asOf: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var log: LogOptions

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    func run() async throws {
        try await reportingErrors {
            let logger = try log.makeLogger("planrouter.report", defaultLevel: .error)
            let fromDate = try from.map { try Self.date($0, option: "--from") }
            let toDate = try to.map { try Self.date($0, option: "--to") }
            if let f = fromDate, let t = toDate, t < f { throw CLIError("--to \(t) is before --from \(f)") }
            let now: Date
            if let asOf {
                guard let d = RFC3339.parse(asOf) else {
                    throw CLIError("--as-of \"\(asOf)\" is not an RFC 3339 time (e.g. 2026-06-30T16:00:00Z)")
                }
                now = d
            } else {
                now = WallClock().now()
            }
            let org = organization ?? Environment.value("PLANROUTER_ORGANIZATION")
            let conn = try await PostgresConnection.connect(
                try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
            defer { conn.close() }
            let report: AnalyticsReport
            do {
                report = try await AnalyticsReport.load(on: conn, organization: org, from: fromDate, to: toDate, asOf: now)
            } catch let e as AnalyticsReport.UnknownOrganization {
                throw CLIError(e.description)
            } catch let e as PostgresError where e.sqlState == "42883" {
                // undefined_function: the database predates migration 0004.
                throw CLIError("the analytics views are missing: run `planrouter migrate` first")
            }
            switch format {
            case .table: print(report.table(), terminator: "")
            case .json: print(report.json(), terminator: "")
            case .csv: print(report.csv(), terminator: "")
            }
        }
    }

    static func date(_ text: String, option: String) throws -> PostgresDate {
        let bad = CLIError("\(option) \"\(text)\" is not a date YYYY-MM-DD")
        guard text.count == 10, let d = try? PostgresDate(postgresText: text) else { throw bad }
        // Reject days the month does not have (2026-02-30).
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let comps = DateComponents(year: d.year, month: d.month, day: d.day)
        guard comps.isValidDate(in: cal) else { throw bad }
        return d
    }
}
