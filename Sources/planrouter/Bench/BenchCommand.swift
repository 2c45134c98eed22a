import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency against the configured services; prints figures.",
        subcommands: [
            BenchKafka.self, BenchPostgres.self, BenchSlots.self, BenchTimers.self, BenchPipeline.self, BenchGenerate.self,
            BenchNotify.self, BenchConnector.self, BenchCalendarMemory.self,
        ]
    )
}
