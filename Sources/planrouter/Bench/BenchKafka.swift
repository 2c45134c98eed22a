import ArgumentParser

struct BenchKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka", abstract: "Kafka produce/consume messages/s.")
    func run() async throws {}
}
