import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Inspect the outbox.", subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the backlog: rows waiting to be published and the oldest one's age.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.outbox", defaultLevel: .error)
                let conn = try await PostgresConnection.connect(try database.resolved(), logger: logger)
                defer { conn.close() }
                let b = try await OutboxBacklog.read(on: conn)
                let now = WallClock().now()
                let age = b.oldestCreatedAt.map { now.timeIntervalSince($0) }
                print("pending \(b.pending)" + (age.map { String(format: "; oldest %.1f s", $0) } ?? "") + "; failed \(b.failed)")
            }
        }
    }
}
