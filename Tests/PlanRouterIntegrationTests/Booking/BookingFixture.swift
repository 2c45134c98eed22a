import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterWorkers

/// One self-book case written straight into a fresh database: a plan offered with three
/// held openings (Wed–Fri 8:00 AM in New York) inside its provider's mirrored schedule
/// (07:00–17:00 those days), two pending ladder timers and an open task.
struct BookingFixture {
    static let now = RFC3339.parse("2026-12-01T14:30:00Z")!
    static let secret = "booking-test-secret-0123456789abcdef"
    static let key = BookingToken.key(fromSecret: secret)
    static let firstStart = Int64(RFC3339.parse("2026-12-02T13:00:00Z")!.timeIntervalSince1970)

    let pool: PostgresPool
    let clock: ManualClock
    let service: BookingService
    var offerID: Int64 = 0
    var holds: [Int64] = []

    /// `pool`: an existing migrated database (a `PipelineHarness`'s); nil: a fresh one.
    init(poolSize: Int = 8, pool existing: PostgresPool? = nil) async throws {
        if let existing {
            pool = existing
        } else {
            pool = PostgresPool(conninfo: try await MigratedDatabase.fresh(prefix: "book"), size: poolSize, logger: testLogger)
        }
        clock = ManualClock(Self.now)
        service = BookingService(pool: pool, clock: clock, configuration: BookingConfiguration(bookingKey: Self.key), logger: testLogger)
        try await pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-1')")
            _ = try await conn.execute(
                "INSERT INTO locations (id, organization_id, name, time_zone) VALUES ('loc-12', 'org-1', 'Smile & <Co>', 'America/New_York'), ('loc-99', 'org-1', '', 'UTC')"
            )
        }
        (offerID, holds) = try await addCase(plan: "p1")
    }

    /// A plan in status `offered` with three holds, an offer naming them, two timers and an open task.
    func addCase(plan: String, status: String = "offered") async throws -> (offer: Int64, holds: [Int64]) {
        try await pool.withConnection { conn in
            let now = Self.now
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', $1, 'loc-12', 'pat-1', 'prov-3', $2, 'chair', 135000, $3, $4, 'test', 'e-' || $1, $2, $2)
                """, plan, now.addingTimeInterval(-3600),
                PostgresJSON(#"{"first_name": "<Ann>", "last_name": "Secretlast", "phone": "+15550001111", "sms_consent": true}"#), status)
            _ = try await conn.execute(
                """
                INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, fee_cents)
                VALUES ('org-1', $1, 1, 'CDT', 'D2740', 'crown', 135000)
                """, plan)
            // Each case gets its own provider so cases never collide under the exclusion constraint.
            let rows = try await conn.query(
                """
                INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                          patient_id, expires_at, created_at)
                SELECT 'loc-12', 'prov-' || $1, 'op-' || $1, tstzrange(to_timestamp(s), to_timestamp(s + 5400)),
                       tstzrange(to_timestamp(s), to_timestamp(s + 5400)), 'hold', 'org-1', $1, 'pat-1', $3, $3
                FROM unnest(ARRAY[$2, $2 + 86400, $2 + 172800]::int8[]) AS s
                ORDER BY s
                RETURNING id
                """, plan, Self.firstStart, now.addingTimeInterval(2 * 86_400))
            let holds = try rows.map { try $0.decode(0, as: Int64.self) }.sorted()
            // The mirrored schedule the holds were found in: the provider works 07:00-17:00 New York each of the three days.
            _ = try await conn.execute(
                """
                INSERT INTO schedule_blocks (organization_id, location_id, provider_id, during, changed_at)
                SELECT 'org-1', 'loc-12', 'prov-' || $1, tstzrange(to_timestamp(s - 3600), to_timestamp(s + 9 * 3600)), $3
                FROM unnest(ARRAY[$2, $2 + 86400, $2 + 172800]::int8[]) AS s
                """, plan, Self.firstStart, now.addingTimeInterval(-86_400))
            let openings = JSONValue.array(holds.map { .object(["reservation_id": .int($0), "provider_id": .string("prov-\(plan)")]) })
            let offer = try await conn.query(
                """
                INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                                    plan_accepted_at, sent_at, sla_seconds, sla_met)
                VALUES ('org-1', $1, 'loc-12', 'initial', 'self_book', 'sms', $2, 50000, $3, $4, $5, 300, true) RETURNING id
                """, plan, PostgresJSON(openings.serialized()), now.addingTimeInterval(2 * 86_400), now.addingTimeInterval(-3600), now)
            _ = try await conn.execute(
                """
                INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, created_at)
                VALUES ('org-1', $1, 'loc-12', 'ladder', 1, $2, $3), ('org-1', $1, 'loc-12', 'ladder', 2, $2, $3)
                """, plan, now.addingTimeInterval(86_400), now)
            _ = try await conn.execute(
                """
                INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, reason, context, created_at)
                VALUES ('org-1', $1, 'loc-12', 'tc-anna', 'escalation', 'no answer', '{"tier": "major"}', $2)
                """, plan, now)
            return (try offer[0].decode(0, as: Int64.self), holds)
        }
    }

    func token(offer: Int64? = nil, plan: String = "p1", expiresIn seconds: Int64 = 2 * 86_400) -> String {
        BookingToken(
            offerID: offer ?? offerID, organizationID: "org-1", planID: plan, expiresAt: Int64(Self.now.timeIntervalSince1970) + seconds
        ).sign(secret: Self.key)
    }

    func count(_ sql: String) async throws -> Int64 {
        try await pool.withConnection { try await $0.query(sql)[0].decode(0, as: Int64.self) }
    }

    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = Application(router: BookingRouter.make(service))
        return try await app.test(.router) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    func get(_ uri: String, json: Bool = false) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: json ? [.accept: "application/json"] : [:])
    }

    func postForm(_ uri: String, _ body: String) async throws -> TestResponse {
        try await execute(
            uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: body))
    }

    func postJSON(_ uri: String, _ value: JSONValue) async throws -> TestResponse {
        try await execute(
            uri: uri, method: .post, headers: [.contentType: "application/json", .accept: "application/json"],
            body: ByteBuffer(string: value.serialized()))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue { (try? JSONParser.parse(text)) ?? .null }
}
