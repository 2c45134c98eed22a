import ArgumentParser
import Foundation
import Logging
import PlanRouterPostgres
import PlanRouterStore

/// Compares insert strategies against a real server so the batch path's headroom over the
/// ~170,000 rows/s the workers need is a measured figure, not a guess. Prints, never asserts.
struct BenchPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "PostgreSQL per-row vs batched insert rows/s.",
        discussion: """
            Inserts into a TEMP table (no WAL, no indexes), so figures are an upper bound for \
            real tables. Modes: one INSERT per row with autocommit, one INSERT per row inside \
            one transaction, and INSERT … SELECT * FROM unnest($1::text[], $2::int8[]) batches.
            """
    )

    @Option(help: "PostgreSQL URI or key=value conninfo. Default: $PLANROUTER_DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "Rows for the in-transaction and batched modes.")
    var rows: Int = 20_000

    @Option(help: "Rows for the per-row autocommit mode (each row is a commit, so keep it smaller).")
    var autocommitRows: Int = 2_000

    @Option(help: "Rows per unnest batch.")
    var batchSize: Int = 1_000

    func validate() throws {
        guard rows > 0, autocommitRows > 0, batchSize > 0 else {
            throw ValidationError("--rows, --autocommit-rows and --batch-size must be positive")
        }
    }

    func run() async throws {
        guard let conninfo = databaseURL ?? ProcessInfo.processInfo.environment["PLANROUTER_DATABASE_URL"] else {
            throw ValidationError("pass --database-url or set PLANROUTER_DATABASE_URL (start services with scripts/services up)")
        }
        let connection = try await PostgresConnection.connect(
            conninfo, settings: TenantScope.allOrganizations.sessionSettings, logger: Logger(label: "planrouter.bench.postgres"))
        defer { connection.close() }
        try await connection.simpleQuery("CREATE TEMP TABLE bench_events (name text NOT NULL, seq int8 NOT NULL)")

        let insert = "INSERT INTO bench_events (name, seq) VALUES ($1, $2)"
        var results: [(mode: String, rows: Int, duration: Duration)] = []

        results.append(
            (
                "per-row, autocommit", autocommitRows,
                try await measure(connection) {
                    for index in 0..<autocommitRows {
                        try await connection.execute(insert, Self.name(index), index)
                    }
                }
            ))

        results.append(
            (
                "per-row, one transaction", rows,
                try await measure(connection) {
                    try await connection.transaction { tx in
                        for index in 0..<rows {
                            try await tx.execute(insert, Self.name(index), index)
                        }
                    }
                }
            ))

        results.append(
            (
                "unnest batches of \(batchSize)", rows,
                try await measure(connection) {
                    for start in stride(from: 0, to: rows, by: batchSize) {
                        let range = start..<min(start + batchSize, rows)
                        try await connection.execute(
                            "INSERT INTO bench_events (name, seq) SELECT * FROM unnest($1::text[], $2::int8[])",
                            range.map(Self.name), Array(range))
                    }
                }
            ))

        benchPrint("mode                              rows     seconds      rows/s")
        for result in results {
            let seconds = Double(result.duration.components.seconds) + Double(result.duration.components.attoseconds) / 1e18
            benchPrint(
                result.mode.padding(toLength: 30, withPad: " ", startingAt: 0) + " "
                    + String(format: "%8d %11.3f %11.0f", result.rows, seconds, Double(result.rows) / seconds))
        }
    }

    private static func name(_ index: Int) -> String {
        "event-\(index) \"quoted\" \\ ü"
    }

    /// Times `body` and empties the table afterwards so every mode starts alike.
    private func measure(_ connection: PostgresConnection, _ body: () async throws -> Void) async throws -> Duration {
        let elapsed = try await ContinuousClock().measure { try await body() }
        try await connection.simpleQuery("TRUNCATE bench_events")
        return elapsed
    }
}
