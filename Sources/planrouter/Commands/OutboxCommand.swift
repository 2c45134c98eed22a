import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Inspect the outbox; put rows set aside back in the queue.",
        subcommands: [Status.self, Retry.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the backlog: rows waiting to be published, the oldest one's age, and the rows set aside with their reasons.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.outbox", defaultLevel: .error)
                let conn = try await PostgresConnection.connect(
                    try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
                defer { conn.close() }
                let b = try await OutboxBacklog.read(on: conn)
                let now = WallClock().now()
                let age = b.oldestCreatedAt.map { now.timeIntervalSince($0) }
                print("pending \(b.pending)" + (age.map { String(format: "; oldest %.1f s", $0) } ?? "") + "; failed \(b.failed)")
                for g in try await OutboxRetryRepository.refusedPending(on: conn) {
                    print("waiting: \(g.count) row(s) of \(g.topic) refused by the cluster, retried while paused: \(g.reason)")
                }
                for g in try await OutboxRetryRepository.setAside(on: conn) {
                    let ids = g.ids.map(String.init).joined(separator: ",") + (g.count > g.ids.count ? ",…" : "")
                    print("set aside: \(g.count) row(s) of \(g.topic) since \(RFC3339.format(g.oldestCreatedAt)) (ids \(ids)): \(g.reason)")
                }
                if b.failed > 0 {
                    print("fix the cause, then: planrouter outbox retry --topic TOPIC (or --id N, or --all)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put rows set aside back in the queue (clears failed_at and attempts); prints how many.",
            discussion: """
                Choose the rows with exactly one of --id (repeatable), --topic or --all. A row set aside may have \
                reached its topic already (a late acknowledgement); republishing it is safe, consumers deduplicate by event id.
                """)
        @Option(help: "Retry this outbox row (repeatable).")
        var id: [Int64] = []
        @Option(help: "Retry every row set aside for this topic.")
        var topic: String?
        @Flag(help: "Retry every row set aside.")
        var all = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func validate() throws {
            let chosen = (id.isEmpty ? 0 : 1) + (topic == nil ? 0 : 1) + (all ? 1 : 0)
            guard chosen == 1 else { throw ValidationError("choose the rows with exactly one of --id, --topic or --all") }
        }

        func run() async throws {
            try await reportingErrors {
                let logger = try log.makeLogger("planrouter.outbox", defaultLevel: .error)
                let conn = try await PostgresConnection.connect(
                    try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
                defer { conn.close() }
                let selection: OutboxRetryRepository.Selection = all ? .all : topic.map { .topic($0) } ?? .ids(id)
                let n = try await OutboxRetryRepository.retry(selection, on: conn)
                print("retried \(n) row(s)")
            }
        }
    }
}
