import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import PlanRouterStore

@testable import PlanRouterConnectors

/// The Open Dental emulator over real HTTP, a fresh migrated PostgreSQL, and offices in both.
final class OpenDentalFixture: Sendable {
    static let now = RFC3339.parse("2026-12-01T15:00:00Z")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    let emulator = OpenDentalEmulator(developerKey: "dev-key")
    let pool: PostgresPool
    let clock = ManualClock(OpenDentalFixture.now)

    /// One emulated office as the connector and the test see it.
    struct Office {
        var office: OpenDentalOffice
        var key: String { office.customerKey }
        var provider: Int64
        var operatory: Int64
    }

    let ownsPool: Bool

    /// `pool`: a database to share (a `PipelineHarness`'s); by default a fresh one of its own.
    init(pool shared: PostgresPool? = nil) async throws {
        if let shared {
            pool = shared
            ownsPool = false
        } else {
            pool = PostgresPool(conninfo: try await MigratedDatabase.fresh(prefix: "od"), size: 4, logger: testLogger)
            ownsPool = true
        }
        emulator.setNow(Self.now)
        try await pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-1')")
            _ = try await conn.execute(
                "INSERT INTO locations (id, organization_id, name, time_zone) VALUES ('loc-a', 'org-1', 'A', 'America/New_York'), ('loc-b', 'org-1', 'B', 'America/New_York')"
            )
        }
    }

    func close() async { if ownsPool { await pool.close() } }

    func addOffice(_ id: String, location: String) throws -> Office {
        let key = emulator.addOffice(customerKey: "\(id)-key", timeZone: Self.newYork)
        let prov = try emulator.addProvider(key, abbr: "DOC")
        let op = try emulator.addOperatory(key, name: "Op 1", provDentist: prov)
        return Office(
            office: OpenDentalOffice(
                id: id, organizationID: "org-1", customerKey: key, timeZone: Self.newYork, clinics: [0: location],
                pollInterval: .milliseconds(200), referenceInterval: .seconds(3600)),
            provider: prov, operatory: op)
    }

    /// Runs `body` with the emulator listening on a free port; passes its API base URL.
    func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        let app = OpenDentalServer.application(emulator, port: 0, logger: testLogger)
        try await app.test(.live) { client in
            guard let port = client.port else { throw CancellationError() }
            try await body("http://127.0.0.1:\(port)/api/v1")
        }
    }

    func client(_ o: Office, base: String) -> OpenDentalClient {
        OpenDentalClient(baseURL: base, developerKey: "dev-key", customerKey: o.key, timeout: .seconds(10))
    }

    func poller(_ o: Office, base: String) -> OfficePoller {
        OfficePoller(office: o.office, client: client(o, base: base), pool: pool, clock: clock, logger: testLogger)
    }

    /// A patient with a crown and a core on a plan the dentist presented; returns (PatNum, TreatPlanNum, ProcNums).
    func presentCrown(_ o: Office, first: String = "Ann") throws -> (patient: Int64, plan: Int64, procedures: [Int64]) {
        let pat = try emulator.addPatient(
            o.key, lName: "Secretlast", fName: first, wirelessPhone: "(503)555-0101", email: "ann@example.com", txtMsgOk: "Yes",
            preferContactMethod: "TextMessage")
        let (plan, procs) = try emulator.presentPlan(
            o.key, patNum: pat, provNum: o.provider,
            procedures: [
                .init(code: "D2740", descript: "crown - porcelain/ceramic", fee: 1250, toothNum: "30"),
                .init(code: "D2950", descript: "core buildup", fee: 310.5, toothNum: "30"),
            ])
        return (pat, plan, procs)
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
