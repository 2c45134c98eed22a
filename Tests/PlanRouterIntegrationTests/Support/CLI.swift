import Foundation
import Testing

/// Runs the real `planrouter` binary (built next to the test bundle) the way an operator would.
/// The same runner serves the unit CLI tests (PlanRouterCLITests/Support/CLI.swift); keep the two alike.
enum CLI {
    static var binary: URL {
        // .build/<config>/planrouterPackageTests.xctest -> .build/<config>/planrouter
        var dir = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("planrouter").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("planrouter")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(
        _ args: [String], env: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLANROUTER_") }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while p.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if p.isRunning {
            p.terminate()
            Issue.record("planrouter \(args.joined(separator: " ")) did not finish within \(timeout)")
        }
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
