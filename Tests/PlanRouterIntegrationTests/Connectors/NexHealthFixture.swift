import Foundation
import Hummingbird
import PlanRouterBooking
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterStore

@testable import PlanRouterConnectors

/// The NexHealth emulator and the public webhook over real HTTP, a migrated PostgreSQL, and
/// one institution (`bright`, NexHealth location 21 = loc-a) in both.
final class NexHealthFixture: Sendable {
    static let now = RFC3339.parse("2026-12-01T15:00:00Z")!
    static let secret = "nh-secret"
    static let location: Int64 = 21

    let emulator = NexHealthEmulator(settings: .init(apiKey: "nh-key", webhookSecret: NexHealthFixture.secret))
    let pool: PostgresPool
    let clock = ManualClock(NexHealthFixture.now)
    let account: NexHealthAccount
    let ownsPool: Bool

    var institution: NexHealthInstitution { account.institutions[0] }

    init(pool shared: PostgresPool? = nil) async throws {
        if let shared {
            pool = shared
            ownsPool = false
        } else {
            pool = PostgresPool(conninfo: try await MigratedDatabase.fresh(prefix: "nh"), size: 4, logger: testLogger)
            ownsPool = true
        }
        account = NexHealthAccount(
            baseURL: "http://unused", apiKey: "nh-key", webhookSecret: Self.secret,
            institutions: [
                NexHealthInstitution(
                    subdomain: "bright", organizationID: "org-1", timeZone: TimeZone(identifier: "America/New_York")!,
                    locations: [Self.location: "loc-a"])
            ])
        emulator.setNow(Self.now)
        try await pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-1')")
            _ = try await conn.execute(
                "INSERT INTO locations (id, organization_id, name, time_zone) VALUES ('loc-a', 'org-1', 'A', 'America/New_York')")
        }
    }

    func close() async { if ownsPool { await pool.close() } }

    var webhook: NexHealthWebhook {
        NexHealthWebhook(
            pool: pool, clock: clock, secret: Self.secret, tolerance: .seconds(300), organizations: ["bright": "org-1"], logger: testLogger)
    }

    /// Runs `body` with the webhook and the emulator listening; the emulator's webhooks go to the
    /// webhook. Passes the emulator's API base URL.
    func withServers(_ body: @Sendable (String) async throws -> Void) async throws {
        let hook = try await NotifyFixture.serve(logger: testLogger) { router in webhook.register(on: router) }
        emulator.setWebhookURL("http://127.0.0.1:\(hook.port)\(NexHealthWebhook.path)")
        do {
            let app = NexHealthServer.application(emulator, port: 0, logger: testLogger)
            try await app.test(.live) { client in
                guard let port = client.port else { throw CancellationError() }
                try await body("http://127.0.0.1:\(port)")
            }
        } catch {
            await hook.running.stop()
            throw error
        }
        await hook.running.stop()
    }

    func intake(base: String) -> NexHealthIntake {
        NexHealthIntake(
            account: account, client: NexHealthClient(baseURL: base, apiKey: "nh-key"), pool: pool, clock: clock, logger: testLogger)
    }

    func writer(base: String) -> NexHealthWritebackWorker {
        NexHealthWritebackWorker(
            account: account, client: NexHealthClient(baseURL: base, apiKey: "nh-key"), pool: pool, clock: clock, logger: testLogger)
    }

    /// A signed delivery as NexHealth would send it (`timestamp` in Unix seconds).
    static func signed(_ body: JSONValue, at time: Date = now, secret: String = secret) -> (body: [UInt8], headers: HTTPFields) {
        let bytes = body.serializedBytes()
        let timestamp = String(Int64(time.timeIntervalSince1970))
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.init(NexHealthSignature.timestampHeader)!] = timestamp
        headers[.init(NexHealthSignature.signatureHeader)!] = NexHealthSignature.sign(body: bytes, timestamp: timestamp, secret: secret)
        return (bytes, headers)
    }

    /// The data of every event in the outbox for `topic`, oldest first.
    func outbox(_ topic: String) async throws -> [JSONValue] {
        try await pool.withConnection { conn in
            try await conn.query("SELECT convert_from(payload, 'UTF8') FROM outbox WHERE topic = $1 ORDER BY id", topic).map {
                try JSONParser.parse(try $0.decode(0, as: String.self))
            }
        }
    }

    func count(_ sql: String) async throws -> Int {
        try await pool.withConnection { try await $0.query(sql)[0].decode(0, as: Int.self) }
    }
}
