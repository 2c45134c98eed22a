import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Two organizations that share every PMS id (location 'loc-1', provider, patient and plan ids)
/// stay apart end to end, and row-level security hides every tenant row a transaction's
/// organization does not name (migration 0011).
@Suite struct TenancyTests {
    static let orgA = "org-a"
    static let orgB = "org-b"

    /// `event` with its data's organization replaced (everything else, ids included, shared).
    static func of(_ organization: String, _ event: JSONValue) -> JSONValue {
        var e = event.objectValue!
        var d = e["data"]!.objectValue!
        d["organization_id"] = .string(organization)
        e["data"] = .object(d)
        e["id"] = .string(UUID().uuidString)
        return .object(e)
    }

    /// Counts per organization: [organization: count].
    static func perOrganization(_ h: PipelineHarness, _ table: String, where condition: String = "true") async throws -> [String: Int] {
        try await h.pool.withConnection { conn in
            var out: [String: Int] = [:]
            // Table names come from this file only.
            for r in try await conn.query("SELECT organization_id, count(*)::int8 FROM \(table) WHERE \(condition) GROUP BY 1") {
                out[try r.decode(0, as: String.self)] = Int(try r.decode(1, as: Int64.self))
            }
            return out
        }
    }

    @Test func twoOrganizationsSharingIdsStaySeparateFromAcceptanceToBooking() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let clock = ManualClock(RFC3339.parse("2026-12-01T14:30:00Z")!)
        let schedule = TestEvents.schedule(location: "loc-1")
        try await h.publishSchedule(events: [Self.of(Self.orgA, schedule), Self.of(Self.orgB, schedule)])
        let accepted = TestEvents.acceptedWith(plan: "tp-1", location: "loc-1", codes: [("D2740", 135_000)])
        try await h.publish(events: [Self.of(Self.orgA, accepted), Self.of(Self.orgB, accepted)])
        let classifier = try h.classifier(clock: clock)
        let offer = try h.offer(clock: clock)
        let relay = try h.relay()
        let lifecycle = try h.lifecycle(clock: clock)
        let runs = [
            Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() },
            Running { try await lifecycle.run() },
        ]
        try await eventually("both organizations offered") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL") == 2
        }
        // Same provider id, same location id, same times: both hold them, as two different resources.
        #expect(
            try await Self.perOrganization(h, "plans", where: "plan_id = 'tp-1' AND status = 'offered'") == [Self.orgA: 1, Self.orgB: 1])
        #expect(try await Self.perOrganization(h, "reservations", where: "kind = 'hold' AND active") == [Self.orgA: 3, Self.orgB: 3])
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM reservations a JOIN reservations b ON a.provider_id = b.provider_id AND a.during = b.during
                WHERE a.organization_id = 'org-a' AND b.organization_id = 'org-b' AND a.kind = 'hold' AND b.kind = 'hold'
                """) == 3)
        #expect(try await Self.perOrganization(h, "offers") == [Self.orgA: 1, Self.orgB: 1])
        #expect(try await Self.perOrganization(h, "locations", where: "id = 'loc-1'") == [Self.orgA: 1, Self.orgB: 1])
        let blocksOfA = try await Self.perOrganization(h, "schedule_blocks")[Self.orgA] ?? 0
        #expect(blocksOfA > 0)

        // Org B's practice closes loc-1 for December: its calendar empties, org A's does not move.
        var closed = Self.of(Self.orgB, TestEvents.schedule(location: "loc-1", changedAt: "2026-12-01T14:00:00Z")).objectValue!
        var data = closed["data"]!.objectValue!
        data["blocks"] = .array([])
        closed["data"] = .object(data)
        try await h.publishSchedule(events: [.object(closed)])
        #expect(try await Self.perOrganization(h, "schedule_blocks") == [Self.orgA: blocksOfA])
        #expect(try await Self.perOrganization(h, "reservations", where: "kind = 'hold' AND active") == [Self.orgA: 3])
        #expect(
            try await Self.perOrganization(h, "reservations", where: "release_reason = 'schedule_changed'") == [Self.orgB: 3])

        // Org A's patient books from A's link; only A's case is booked and only A's ladder stops.
        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 2)
        let linkOfA = try messages.map { try EventValidator.shared.decode($0.value) }.first {
            $0.data["organization_id"] == .string(Self.orgA)
        }!
        let path = String(linkOfA.data["link"]!.stringValue!.dropFirst("https://book.example.com".count))
        let service = BookingService(
            pool: h.pool, clock: clock,
            configuration: BookingConfiguration(bookingKey: BookingToken.key(fromSecret: PipelineHarness.bookingSecret)),
            logger: testLogger)
        try await Application(router: BookingRouter.make(service)).test(.router) { client in
            let openings = try await client.get(path, json: true).json["openings"]?.arrayValue ?? []
            #expect(openings.count == 3)
            #expect(try await client.postJSON(path, .object(["reservation_id": openings[0]["reservation_id"]!])).status == .ok)
        }
        #expect(try await Self.perOrganization(h, "plans", where: "status = 'booked'") == [Self.orgA: 1])
        #expect(try await Self.perOrganization(h, "reservations", where: "kind = 'booking'") == [Self.orgA: 1])
        #expect(try await Self.perOrganization(h, "timers", where: "status = 'pending'")[Self.orgA] == nil)
        #expect((try await Self.perOrganization(h, "timers", where: "status = 'pending'")[Self.orgB] ?? 0) > 0)

        // Org B's PMS declines its tp-1: B's case closes, A's booking stands.
        try await h.publish(
            events: [Self.of(Self.orgB, TestEvents.planChanged(plan: "tp-1", change: "declined"))], topic: h.topics[.planChanged])
        try await eventually("org B's case declined") {
            try await h.count("SELECT count(*) FROM plans WHERE organization_id = 'org-b' AND status = 'declined'") == 1
        }
        #expect(try await Self.perOrganization(h, "plans", where: "status = 'booked'") == [Self.orgA: 1])
        #expect(try await Self.perOrganization(h, "timers", where: "status = 'pending'") == [:])
        for r in runs { await r.stop() }
        await h.close()
    }

    /// Every tenant table of migration 0011, with a row of each organization inserted below.
    static let tenantTables = [
        "organizations", "locations", "providers", "schedule_blocks", "blockouts", "reservations", "plans", "plan_procedures",
        "plan_events", "classifications", "offers", "coordinator_tasks", "timers", "pending_lifecycle_events",
    ]

    static let fixture = """
        INSERT INTO organizations (id) SELECT o FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO locations (organization_id, id) SELECT o, 'loc-1' FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO providers (organization_id, location_id, provider_id, updated_at) SELECT o, 'loc-1', 'p-1', now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO schedule_blocks (organization_id, location_id, provider_id, during, changed_at)
            SELECT o, 'loc-1', 'p-1', tstzrange(now(), now() + interval '1 hour'), now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO blockouts (organization_id, location_id, during, kind, changed_at)
            SELECT o, 'loc-1', tstzrange(now(), now() + interval '1 hour'), 'do_not_schedule', now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO reservations (organization_id, location_id, provider_id, during, operatory_during, kind, created_at)
            SELECT o, 'loc-1', 'p-1', tstzrange(now(), now() + interval '1 hour'), tstzrange(now(), now() + interval '1 hour'), 'hold', now()
            FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source, total_fee_cents,
                           patient, source, source_event_id, received_at, updated_at)
            SELECT o, 'tp-1', 'loc-1', 'pat-1', 'p-1', now(), 'chair', 100, '{}', 'test', 'e-' || o, now(), now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, fee_cents)
            SELECT o, 'tp-1', 1, 'CDT', 'D2740', 'crown', 100 FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at)
            SELECT o, 'tp-1', 'loc-1', 'accepted', now(), now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                                     first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
            SELECT o, 'tp-1', 'loc-1', 'restorative', 'self_book', 60, 100, 0, 1800, 3600, 0, '{}', now(), now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, plan_accepted_at, sent_at, sla_seconds, sla_met)
            SELECT o, 'tp-1', 'loc-1', 'initial', 'self_book', 'sms', now(), now(), 1800, true FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, reason, created_at)
            SELECT o, 'tp-1', 'loc-1', 'tc-1', 'callback', 'test', now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO timers (organization_id, plan_id, location_id, kind, due_at, created_at)
            SELECT o, 'tp-1', 'loc-1', 'ladder', now(), now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        INSERT INTO pending_lifecycle_events (organization_id, plan_id, event, received_at)
            SELECT o, 'tp-1', '{}', now() FROM unnest(ARRAY['org-a', 'org-b']) o;
        """

    /// Per table: (rows visible, rows visible of another organization than `org`).
    static func visible(_ org: String, on conn: PostgresConnection) async throws -> [String: (all: Int, others: Int)] {
        var out: [String: (all: Int, others: Int)] = [:]
        for t in tenantTables {
            let column = t == "organizations" ? "id" : "organization_id"
            let r = try await conn.query("SELECT count(*)::int8, count(*) FILTER (WHERE \(column) <> $1)::int8 FROM \(t)", org)
            out[t] = (Int(try r[0].decode(0, as: Int64.self)), Int(try r[0].decode(1, as: Int64.self)))
        }
        return out
    }

    @Test func rowLevelSecurityShowsNothingWithoutTheSettingAndOnlyTheNamedOrganizationWithIt() async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "rls"), logger: testLogger)
        defer { conn.close() }
        try await conn.simpleQuery(Self.fixture)
        // Every tenant table has its policy enforced, for its owner too (FORCE).
        let unforced = try await conn.query(
            "SELECT relname FROM pg_class WHERE relname = ANY($1::text[]) AND NOT (relrowsecurity AND relforcerowsecurity)",
            Self.tenantTables)
        #expect(unforced.isEmpty)
        // And no table that carries an organization is left out: a table added by a later migration
        // without its policy fails here.
        let unguarded = try await conn.query(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                       AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation'))
            ORDER BY 1
            """
        ).map { try $0.decode(0, as: String.self) }
        // routing_rules is configuration, organization "*" included (the platform's defaults): not tenant data.
        #expect(unguarded == ["routing_rules"], "tables without row-level security: \(unguarded)")
        // The test server's user is a superuser, which bypasses every policy: look through a plain role.
        try await conn.simpleQuery(
            """
            DO $$ BEGIN CREATE ROLE planrouter_rls_probe NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO planrouter_rls_probe;
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO planrouter_rls_probe;
            SET ROLE planrouter_rls_probe
            """)
        for (table, seen) in try await Self.visible("org-a", on: conn) {
            #expect(seen.all == 0, "\(table): rows visible without planrouter.organization")
        }
        try await conn.transaction { tx in
            try await TenancyRepository.scope(.organization("org-a"), on: tx)
            for (table, seen) in try await Self.visible("org-a", on: tx) {
                #expect(seen.all == 1 && seen.others == 0, "\(table): org-a's scope saw \(seen.all) rows, \(seen.others) of others")
            }
            // Writes are checked too: org-a's transaction cannot create a row of org-b.
            try await tx.simpleQuery("SAVEPOINT s")
            await #expect(throws: PostgresError.self) {
                try await tx.execute("INSERT INTO locations (organization_id, id) VALUES ('org-b', 'loc-9')")
            }
            try await tx.simpleQuery("ROLLBACK TO SAVEPOINT s")
        }
        try await conn.transaction { tx in
            try await TenancyRepository.scope(.allOrganizations, on: tx)
            for (table, seen) in try await Self.visible("org-a", on: tx) {
                #expect(seen.all == 2 && seen.others == 1, "\(table): the system scope saw \(seen.all) rows")
            }
        }
        // SET LOCAL ends with its transaction: nothing is visible again.
        for (table, seen) in try await Self.visible("org-a", on: conn) {
            #expect(seen.all == 0, "\(table): rows visible after the scoped transaction ended")
        }
        try await conn.simpleQuery("RESET ROLE")
    }
}
