import ArgumentParser

@main
struct PlanRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "planrouter", abstract: "PlanRouter")
    func run() async throws {}
}
