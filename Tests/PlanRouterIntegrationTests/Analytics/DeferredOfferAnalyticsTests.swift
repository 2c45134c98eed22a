import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// Issue 12, point 7: a first offer written in quiet hours counts from the moment its message is
/// released to delivery (its send_after), in the offers row, in the analytics functions and in
/// `AnalyticsReport` alike. New York (EDT, UTC-4) in June 2026.
///
///   D1 surgical, SLA 15 min: accepted 21:25 EDT Jun 9 (01:25Z Jun 10), offer written 30 s later in
///      quiet hours, released at 08:00 EDT (12:00Z): 10 h 35 min to first offer, SLA missed.
///   N1 surgical, SLA 15 min: accepted 10:00 EDT Jun 10 (14:00Z), offer written and released 60 s later: met.
@Suite struct DeferredOfferAnalyticsTests {
    static let setup = """
        INSERT INTO organizations (id) VALUES ('org-d');
        INSERT INTO locations (id, organization_id, time_zone) VALUES ('ny', 'org-d', 'America/New_York');
        INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                           total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
        SELECT 'org-d', v.plan, 'ny', 'pat-' || v.plan, 'dr-1', v.at::timestamptz, 'chair', 500000, '{}', 'offered', 'test',
               'ev-' || v.plan, v.at::timestamptz, v.at::timestamptz
        FROM (VALUES ('D1', '2026-06-10T01:25:00Z'), ('N1', '2026-06-10T14:00:00Z')) AS v(plan, at);
        INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                                     first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
        SELECT organization_id, plan_id, location_id, 'surgical', 'self_book', 60, total_fee_cents, 0, 900, 172800, 1, '{}',
               accepted_at, accepted_at + interval '5 seconds'
        FROM plans;
        """

    static func at(_ s: String) -> Date { RFC3339.parse(s)! }

    func row(_ plan: String, accepted: String, now: Date, released: Date?) -> NewOfferRow {
        NewOfferRow(
            key: PlanKey(organizationID: "org-d", planID: plan), locationID: "ny", path: "self_book", channel: "sms", openings: .array([]),
            depositCents: 0, linkExpiresAt: now.addingTimeInterval(172_800), planAcceptedAt: Self.at(accepted), slaSeconds: 900,
            releasedAt: released)
    }

    @Test func aDeferredFirstOfferCountsFromItsRelease() async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "deferred"), logger: testLogger)
        defer { conn.close() }
        try await conn.simpleQuery(Self.setup)
        // Written by the offer worker's repository, as the worker writes them.
        let deferredNow = Self.at("2026-06-10T01:25:30Z")
        _ = try await OffersRepository.insertInitial(
            [row("D1", accepted: "2026-06-10T01:25:00Z", now: deferredNow, released: Self.at("2026-06-10T12:00:00Z"))], now: deferredNow,
            on: conn)
        let immediateNow = Self.at("2026-06-10T14:01:00Z")
        _ = try await OffersRepository.insertInitial(
            [row("N1", accepted: "2026-06-10T14:00:00Z", now: immediateNow, released: nil)], now: immediateNow, on: conn)

        let offers = try await AnalyticsTests.lines(
            conn,
            """
            SELECT plan_id, to_char(sent_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), to_char(released_at AT TIME ZONE 'UTC', 'HH24:MI:SS'), sla_met
            FROM offers ORDER BY plan_id
            """)
        #expect(offers == ["D1|01:25:30|12:00:00|f", "N1|14:01:00|14:01:00|t"])

        let facts = """
            SELECT plan_id, coalesce(to_char(first_offer_at AT TIME ZONE 'UTC', 'HH24:MI'), 'null'), coalesce(seconds_to_first_offer::text, 'null'),
                   offers_sent, initial_offers, initial_offers_sla_met
            FROM analytics_plan_facts($1) ORDER BY plan_id
            """
        // 03:00 EDT: D1's message is still held; nothing has reached the patient.
        #expect(try await AnalyticsTests.lines(conn, facts, Self.at("2026-06-10T07:00:00Z")) == ["D1|null|null|0|0|0"])
        // After both releases: D1 took 10 h 35 min (38,100 s) and missed; N1 60 s and met.
        let asOf = Self.at("2026-06-10T16:00:00Z")
        #expect(try await AnalyticsTests.lines(conn, facts, asOf) == ["D1|12:00|38100|1|1|0", "N1|14:01|60|1|1|1"])
        #expect(
            try await AnalyticsTests.lines(
                conn,
                "SELECT initial_offers, initial_offers_sla_met, first_offer_sla_pct FROM analytics_first_offer_sla('2026-06-09', '2026-06-10', $1, 'org-d') WHERE level = 'all'",
                asOf) == ["2|1|50.00"])

        let report = try await AnalyticsReport.load(
            on: conn, organization: "org-d", from: PostgresDate(year: 2026, month: 6, day: 9),
            to: PostgresDate(year: 2026, month: 6, day: 10), asOf: asOf)
        #expect(report.total.offeredCases == 2)
        #expect(report.total.initialOffers == 2)
        #expect(report.total.initialOffersSLAMet == 1)
        #expect(report.total.firstOfferSLAPercent == 50)
        // Percentile of 60 and 38,100 s: p50 = the midpoint.
        #expect(report.total.firstOfferP50Seconds == 19_080)
    }
}
