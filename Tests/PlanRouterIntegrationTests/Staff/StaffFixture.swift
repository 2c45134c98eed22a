import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStaff

/// The booking fixture's database (org-1: loc-12 with case p1 and its open task, loc-99 empty)
/// plus a second organization, org-2, with a case of the same plan id and an open task at
/// loc-b1, and the staff surface over both.
struct StaffFixture {
    static let origin = "https://staff.example.org"

    let booking: BookingFixture
    let staff: StaffService

    var pool: PostgresPool { booking.pool }
    var clock: ManualClock { booking.clock }

    init(tokenVerifier: StaffTokenVerifier? = nil) async throws {
        booking = try await BookingFixture()
        var configuration = StaffConfiguration()
        configuration.tokenVerifier = tokenVerifier
        configuration.allowedOrigins = [Self.origin]
        // The cheapest cost bcrypt allows: the tests check the flow, not the work factor.
        configuration.bcryptCost = 4
        staff = StaffService(
            pool: booking.pool, clock: booking.clock, configuration: configuration, metrics: booking.service.metrics, logger: testLogger,
            booking: booking.service)
        try await booking.pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-2')")
            _ = try await conn.execute(
                "INSERT INTO locations (id, organization_id, name, time_zone) VALUES ('loc-b1', 'org-2', 'Other Spa', 'America/Chicago')")
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-2', 'p1', 'loc-b1', 'pat-9', 'prov-9', $1, 'chair', 90000, '{"first_name": "Bea"}', 'escalated', 'test',
                        'e-org2-p1', $1, $1)
                """, BookingFixture.now.addingTimeInterval(-7200))
            _ = try await conn.execute(
                """
                INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, reason, context, created_at)
                VALUES ('org-2', 'p1', 'loc-b1', 'tc-zed', 'escalation', 'org two case', '{}', $1)
                """, BookingFixture.now)
        }
    }

    /// A new API key's secret.
    func key(_ org: String = "org-1", _ role: StaffRole = .coordinator, locations: [String]? = nil) async throws -> String {
        try await pool.withConnection { conn in
            try await StaffAdministration.addKey(
                organizationID: org, role: role, locations: locations, name: "test", now: BookingFixture.now, on: conn
            ).secret.text
        }
    }

    func user(_ login: String, password: String, org: String = "org-1", role: StaffRole = .coordinator) async throws {
        _ = try await pool.withConnection { conn in
            try await StaffAdministration.addUser(
                organizationID: org, login: login, displayName: login, role: role, locations: nil, password: password, cost: 4,
                now: BookingFixture.now, on: conn)
        }
    }

    /// The public id of the organization's task for the plan.
    func taskID(_ plan: String, org: String = "org-1") async throws -> String {
        try await pool.withConnection { conn in
            try await conn.query(
                "SELECT public_id::text FROM coordinator_tasks WHERE organization_id = $1 AND plan_id = $2 ORDER BY id LIMIT 1", org, plan)[
                    0
                ]
                .decode(0, as: String.self)
        }
    }

    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let metrics = booking.service.metrics
        let app = Application(router: StaffRouter.make(staff, metricsText: { metrics.prometheusText() }))
        return try await app.test(.router) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    func staffGet(_ uri: String, key: String?, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func staffPost(
        _ uri: String, key: String?, contentType: String = "application/json", body: String, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        headers[.contentType] = contentType
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func resolve(_ id: String, _ outcome: String, key: String?, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await staffPost("/tasks/\(id)/resolve", key: key, body: #"{"outcome": "\#(outcome)"}"#, headers: headers)
    }
}
