import Foundation
import PlanRouterCore
import Testing

/// The CLI's errors and `rules validate`, run on the real binary; none of them needs a service.
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
        let r = try await CLI.run(
            ["migrate"], env: ["PLANROUTER_DATABASE_URL": "postgresql://planrouter@127.0.0.1:1/planrouter?connect_timeout=3"])
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
        try "format: planrouter.rules/v1\ndefault_tier: x\ntiers:\n  - name: x\n    match: { ranges: [D9-D1] }\n".write(
            to: file, atomically: true, encoding: .utf8)
        let r = try await CLI.run(["rules", "validate", file.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("tiers[0].match.ranges[0]"))
        #expect(r.stderr.contains("tiers[0].first_offer_sla"))
        try RoutingRules.defaultYAML.write(to: file, atomically: true, encoding: .utf8)
        let ok = try await CLI.run(["rules", "validate", file.path])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("valid; tiers surgical, restorative, aesthetic, add_on"))
    }
}
