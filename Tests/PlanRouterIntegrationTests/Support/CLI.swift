import Foundation
import PlanRouterTestSupport
import Testing

/// Runs the real `planrouter` binary (built next to the test bundle) the way an operator would.
/// The same runner serves the unit CLI tests (PlanRouterCLITests/Support/CLI.swift); keep the two alike.
enum CLI {
    static var binary: URL { PlanRouterBinary.url }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// This process's environment without any PLANROUTER_ setting, plus `env`.
    static func environment(_ env: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLANROUTER_") }
        for (k, v) in env { environment[k] = v }
        return environment
    }

    /// Starts `planrouter` with `args`, left running until terminated; its output goes to `output` (or nowhere).
    static func start(_ args: [String], env: [String: String] = [:], output: String? = nil) throws -> ChildProcess.Spawned {
        try ChildProcess.start(binary.path, args, environment: environment(env), output: output)
    }

    static func run(
        _ args: [String], env: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let outcome = try await ChildProcess.run(binary.path, args, environment: environment(env), stdin: stdin, timeout: timeout)
        if outcome.timedOut { Issue.record("planrouter \(args.joined(separator: " ")) did not finish within \(timeout)") }
        return Result(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}
