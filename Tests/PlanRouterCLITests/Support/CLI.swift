import Foundation
import PlanRouterTestSupport
import Testing

/// Runs the real `planrouter` binary (built next to the test bundle) the way an operator would.
/// The same runner serves the integration tests (PlanRouterIntegrationTests/Support/CLI.swift); keep the two alike.
enum CLI {
    static var binary: URL { PlanRouterBinary.url }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(
        _ args: [String], env: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLANROUTER_") }
        for (k, v) in env { environment[k] = v }
        let outcome = try await ChildProcess.run(binary.path, args, environment: environment, stdin: stdin, timeout: timeout)
        if outcome.timedOut { Issue.record("planrouter \(args.joined(separator: " ")) did not finish within \(timeout)") }
        return Result(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}
