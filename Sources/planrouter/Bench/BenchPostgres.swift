import ArgumentParser

struct BenchPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "postgres", abstract: "PostgreSQL per-row vs batched insert rows/s.")
    func run() async throws {}
}
