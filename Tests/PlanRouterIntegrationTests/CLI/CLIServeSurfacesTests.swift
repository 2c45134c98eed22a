import Foundation
import PlanRouterCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `planrouter serve` as a process: two ports, each with only its own routes; staff keys made,
/// listed and revoked with `planrouter staff`.
@Suite struct CLIServeSurfacesTests {
    @Test func servePutsBookingAndStaffOnSeparatePortsAndKeysGateTheStaffOne() async throws {
        let url = try await MigratedDatabase.fresh(prefix: "serve")
        let env = ["PLANROUTER_DATABASE_URL": url, "PLANROUTER_BOOKING_SECRET": "serve-surfaces-test-secret-0123456789abcdef"]
        let add = try await CLI.run(["staff", "add-key", "--org", "org-1", "--role", "coordinator", "--name", "ci"], env: env)
        #expect(add.status == 0, "\(add.stderr)")
        let key = try #require(
            add.stdout.split(separator: "\n").first { $0.hasPrefix("key: ") }.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) })
        let keyID = try #require(add.stdout.split(separator: "\n").first { $0.hasPrefix("key id: ") }.map { String($0.dropFirst(8)) })
        let list = try await CLI.run(["staff", "list-keys", "--org", "org-1"], env: env)
        #expect(list.stdout.contains(keyID) && !list.stdout.contains(key))
        #expect(try await CLI.run(["staff", "add-key", "--org", "org-1", "--role", "nurse"], env: env).status != 0)

        let (publicPort, staffPort) = (try freePort(), try freePort())
        let serve = try CLI.start(["serve", "--port", "\(publicPort)", "--staff-port", "\(staffPort)", "--log-level", "error"], env: env)
        defer {
            serve.terminate()
            serve.waitUntilExit()
        }
        let publicBase = "http://127.0.0.1:\(publicPort)"
        let staffBase = "http://127.0.0.1:\(staffPort)"
        try await waitUntilAnswers("\(publicBase)/healthz")
        try await waitUntilAnswers("\(staffBase)/healthz")

        // The public port: booking only.
        for path in ["/metrics", "/tasks", "/audit", "/session"] {
            #expect(try await status("\(publicBase)\(path)", key: key) == 404, "public \(path)")
        }
        #expect(try await status("\(publicBase)/book/forged.token") == 404)
        #expect(try await status("\(publicBase)/healthz", method: "HEAD") == 200)
        // The staff port: metrics open to the network it is on, everything else behind a key.
        #expect(try await status("\(staffBase)/metrics") == 200)
        #expect(try await status("\(staffBase)/tasks") == 401)
        #expect(try await status("\(staffBase)/tasks", key: key) == 200)
        #expect(try await status("\(staffBase)/book/forged.token") == 404)

        let revoke = try await CLI.run(["staff", "revoke-key", "--org", "org-1", keyID], env: env)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(try await status("\(staffBase)/tasks", key: key) == 401)
        #expect(try await CLI.run(["staff", "revoke-key", "--org", "org-1", keyID], env: env).status != 0)
    }

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw CLIServeError(description: "no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func status(_ url: String, method: String = "GET", key: String? = nil) async throws -> Int {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// Polls until the server answers (it binds a moment after the process starts); gives up after 30 s.
    func waitUntilAnswers(_ url: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await status(url)) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIServeError(description: "\(url) did not answer within 30 s")
    }
}

struct CLIServeError: Error, CustomStringConvertible {
    var description: String
}
