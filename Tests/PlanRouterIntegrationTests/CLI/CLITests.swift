import Foundation
import PlanRouterCore
import PlanRouterKafka
import Testing

/// Runs the real `planrouter` binary (built next to the test bundle) the way an operator would.
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

    static func run(_ args: [String], env: [String: String] = [:], stdin: String? = nil, timeout: Duration = .seconds(30)) async throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PLANROUTER_") }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe(), input = Pipe()
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

@Suite struct CLITests {
    /// One line on stderr starting with the error prefix, non-zero status, no stack trace.
    func expectActionableFailure(_ r: CLI.Result, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status != 0, sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "stderr was: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix("planrouter: error: ") == true, sourceLocation: sourceLocation)
        #expect(r.stderr.contains(mentions), "stderr was: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
    }

    @Test func malformedDatabaseURL() async throws {
        let r = try await CLI.run(["migrate", "--status"], env: ["PLANROUTER_DATABASE_URL": "postgresql://%zz@localhost/x"])
        expectActionableFailure(r, mentions: "invalid database URL")
        let sslmode = try await CLI.run(["migrate"], env: ["PLANROUTER_DATABASE_URL": "postgresql://localhost/x?sslmode=sometimes"])
        expectActionableFailure(sslmode, mentions: "invalid database URL: invalid sslmode value")
    }

    @Test func unreachablePostgres() async throws {
        let r = try await CLI.run(["migrate"], env: ["PLANROUTER_DATABASE_URL": "postgresql://planrouter@127.0.0.1:1/planrouter?connect_timeout=3"])
        expectActionableFailure(r, mentions: "cannot connect to PostgreSQL")
    }

    @Test func unreachableBroker() async throws {
        let r = try await CLI.run(
            ["produce", "--wrap", "plan.accepted", "--source", "test/cli"], env: ["PLANROUTER_KAFKA_BROKERS": "127.0.0.1:1"], stdin: "{}\n")
        expectActionableFailure(r, mentions: "Kafka")
    }

    @Test func missingBootstrapFile() async throws {
        let r = try await CLI.run(["produce"], env: ["PLANROUTER_KAFKA_BOOTSTRAP_FILE": "/nonexistent/bootstrap"], stdin: "")
        expectActionableFailure(r, mentions: "bootstrap file /nonexistent/bootstrap not found")
    }

    @Test func missingDatabaseSetting() async throws {
        expectActionableFailure(try await CLI.run(["migrate"]), mentions: "PLANROUTER_DATABASE_URL")
    }

    @Test func rulesValidateListsEveryErrorWithItsPath() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).yaml")
        try "format: planrouter.rules/v1\ndefault_tier: x\ntiers:\n  - name: x\n    match: { ranges: [D9-D1] }\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await CLI.run(["rules", "validate", file.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("tiers[0].match.ranges[0]"))
        #expect(r.stderr.contains("tiers[0].first_offer_sla"))
        try RoutingRules.defaultYAML.write(to: file, atomically: true, encoding: .utf8)
        let ok = try await CLI.run(["rules", "validate", file.path])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("valid; tiers surgical, restorative, aesthetic, add_on"))
    }

    /// produce: rejected lines are reported with their number and reason, the rest are sent,
    /// the summary is printed and the exit status says something was rejected.
    @Test func produceReportsRejectedLinesAndSendsTheRest() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: testLogger)
        try cluster.createTopic("plan.accepted", partitions: 1)
        let good = TestEvents.accepted().serialized()
        let input = [good, "{not json", TestEvents.accepted().serialized(), "{\"specversion\":\"1.0\"}"].joined(separator: "\n") + "\n"
        let r = try await CLI.run(["produce"], env: ["PLANROUTER_KAFKA_BROKERS": cluster.bootstrapServers], stdin: input)
        #expect(r.status == 1)
        #expect(r.stdout.contains("sent 2, rejected 2, failed 0"))
        #expect(r.stderr.contains("line 2: rejected: invalid_json"))
        #expect(r.stderr.contains("line 4: rejected: invalid_envelope"))
        cluster.close()
    }
}
