import Foundation
import Glibc
import PlanRouterCore
import Testing

/// The CLI pieces scripts/chaos drives: the dev broker's control socket and the synthetic events.
@Suite struct ChaosToolingTests {
    @Test func devBrokerControlSocketAcceptsCommandsAndRefusesBadOnes() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("planrouter-ctl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let socket = dir.appendingPathComponent("broker.sock").path
        let bootstrap = dir.appendingPathComponent("bootstrap").path
        let broker = try CLI.start([
            "dev-broker", "--brokers", "2", "--partitions", "1", "--bootstrap-file", bootstrap, "--control-socket", socket,
        ])
        defer { broker.terminate(SIGKILL) }
        // The socket exists before the bootstrap file is written.
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: bootstrap) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(FileManager.default.fileExists(atPath: socket))

        let ok = try await CLI.run(["dev-broker-ctl", "--control-socket", socket, "broker-down", "2"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "ok\n")
        let many = try await CLI.run(
            ["dev-broker-ctl"], env: ["PLANROUTER_DEV_BROKER_CONTROL": socket],
            stdin: "broker-up 2\nrtt 1 100\n\nbroker-push-errors 1 0 7:10\n")
        #expect(many.status == 0)
        #expect(many.stdout == "ok\nok\nok\n")
        let bad = try await CLI.run(["dev-broker-ctl", "--control-socket", socket, "broker-down", "9"])
        #expect(bad.status != 0)
        #expect(bad.stdout.hasPrefix("error: "))

        broker.terminate()
        await broker.exit(within: .seconds(60))
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket file is removed on shutdown")
        let gone = try await CLI.run(["dev-broker-ctl", "--control-socket", socket, "ping"])
        #expect(gone.status != 0)
        #expect(gone.stderr.contains("cannot connect to the dev broker's control socket"))
    }

    @Test func benchGenerateWritesValidEventsDeterministically() async throws {
        let a = try await CLI.run(["bench", "generate", "acceptances", "--tag", "t1", "--first", "5", "--count", "7", "--locations", "3"])
        #expect(a.status == 0)
        let lines = a.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        for (n, line) in lines.enumerated() {
            let event = try EventValidator.shared.decode(Array(line.utf8), expecting: [.planAccepted])
            #expect(event.id == "t1-e\(5 + n)")
        }
        let again = try await CLI.run([
            "bench", "generate", "acceptances", "--tag", "t1", "--first", "5", "--count", "7", "--locations", "3",
        ])
        #expect(again.stdout == a.stdout)

        let s = try await CLI.run(["bench", "generate", "schedules", "--locations", "2"])
        #expect(s.status == 0)
        let schedules = s.stdout.split(separator: "\n")
        #expect(schedules.count == 2)
        for line in schedules { _ = try EventValidator.shared.decode(Array(line.utf8), expecting: [.scheduleChanged]) }
    }
}
