import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// The analytics views and functions (migrations 0004, 0009, 0010) and `AnalyticsReport`, on a
/// known hand-made history whose every number was worked out by hand (see the
/// comments at each expectation). Two locations of one organization in New York and
/// Los Angeles (EDT = UTC-4 and PDT = UTC-7 throughout June 2026), a second
/// organization in UTC, and "now" = 2026-06-30T16:00:00Z (12:00 in New York, 09:00
/// in Los Angeles).
///
/// The cases of org-a (value in dollars; hours to booking; seconds to first offer / SLA):
///   A1 ny surgical     $10,000  booked +72 h (link)      offer 600/900 met   (reclassified from restorative)
///   A2 ny restorative   $2,000  booked +2 h, same local day (phone), no offer
///   A3 la aesthetic       $800  accepted 16:00 PDT Jun 10 (23:00Z), booked +4 h = 20:00 PDT Jun 10 but Jun 11 UTC:
///                                same-day in local time only;             offer 1200/1800 met
///   A4 ny restorative   $1,500  accepted 23:30 EDT Jun 15 (03:30Z Jun 16), booked +1 h = 00:30 EDT Jun 16:
///                                same UTC day, not the same local day;    offer 900/1800 met
///   A5 la surgical     $18,000  booked +24 h (phone)      offer 1200/900 missed
///   A6 la preventive      $200  booked +48 h (link)      offer 3000/3600 met
///   L1 la restorative   $1,000  booked before bookings had times (migration 0010's backfilled event): scheduled, time unknown
///   U1 ny surgical      $5,000  unscheduled, 1 local day old            offer 300/900 met
///   U2 la restorative   $3,000  unscheduled, 5 days                     offer 2400/1800 missed (+ a nudge)
///   U3 ny aesthetic     $1,000  unscheduled, 10 days                    offer 60/1800 met
///   U4 la surgical      $6,000  unscheduled, 20 days                    offer 600/900 met
///   U5 ny restorative   $2,500  unscheduled, 46 days (May: outside the June period)
///   U6 la preventive      $150  accepted 22:00 PDT Jun 27 (05:00Z Jun 28): 3 local days old (2 in UTC)
///   UL ny unclassified    $100  accepted today, booked at 18:00Z: after "now", so still unscheduled now
///   C1 ny restorative   $1,250  declined (Jun 12)
///   F1 ny surgical      $7,777  accepted tomorrow: not yet in any number
/// org-b: B1 $10,000 unscheduled, 15 days, offer 100/1800 met.
///
/// June, org-a: accepted $50,000 in 14 cases; scheduled $33,500 (7); unscheduled $15,250 (6) = 30.50%;
/// closed $1,250 (1); same day 2 of 14 = 14.29%; booking hours 1, 2, 4, 24, 48, 72: p50 14 h, p90 60 h;
/// first-offer seconds 60, 300, 600, 600, 900, 1200, 1200, 2400, 3000: p50 900, p90 2400 + 0.2 * 600 = 2520;
/// initial offers 9, SLA met 7 = 77.78%.
@Suite struct AnalyticsTests {
    static let asOf = RFC3339.parse("2026-06-30T16:00:00Z")!
    static let june = (from: PostgresDate(year: 2026, month: 6, day: 1), to: PostgresDate(year: 2026, month: 6, day: 30))

    static let history = """
        INSERT INTO organizations (id) VALUES ('org-a'), ('org-b');
        INSERT INTO locations (id, organization_id, time_zone) VALUES
            ('ny', 'org-a', 'America/New_York'), ('la', 'org-a', 'America/Los_Angeles'), ('b1', 'org-b', 'UTC');
        INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                           total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
        SELECT v.org, v.plan, v.loc, 'pat-' || v.plan, v.prov, v.at::timestamptz, 'chair', v.cents, '{}', v.status, 'test', 'ev-' || v.plan,
               v.at::timestamptz, v.at::timestamptz
        FROM (VALUES
            ('org-a', 'A1', 'ny', 'dr-n1', '2026-06-01T14:00:00Z', 1000000, 'booked'),
            ('org-a', 'A2', 'ny', 'dr-n1', '2026-06-02T13:00:00Z', 200000, 'booked'),
            ('org-a', 'A3', 'la', 'dr-l1', '2026-06-10T23:00:00Z', 80000, 'booked'),
            ('org-a', 'A4', 'ny', 'dr-n2', '2026-06-16T03:30:00Z', 150000, 'booked'),
            ('org-a', 'A5', 'la', 'dr-l1', '2026-06-05T17:00:00Z', 1800000, 'booked'),
            ('org-a', 'A6', 'la', 'dr-l2', '2026-06-08T16:00:00Z', 20000, 'booked'),
            ('org-a', 'L1', 'la', 'dr-l1', '2026-06-20T18:00:00Z', 100000, 'booked'),
            ('org-a', 'U1', 'ny', 'dr-n1', '2026-06-29T15:00:00Z', 500000, 'offered'),
            ('org-a', 'U2', 'la', 'dr-l1', '2026-06-25T17:00:00Z', 300000, 'offered'),
            ('org-a', 'U3', 'ny', 'dr-n2', '2026-06-20T14:00:00Z', 100000, 'escalated'),
            ('org-a', 'U4', 'la', 'dr-l1', '2026-06-10T17:00:00Z', 600000, 'offered'),
            ('org-a', 'U5', 'ny', 'dr-n2', '2026-05-15T14:00:00Z', 250000, 'offered'),
            ('org-a', 'U6', 'la', 'dr-l2', '2026-06-28T05:00:00Z', 15000, 'accepted'),
            ('org-a', 'UL', 'ny', 'dr-n1', '2026-06-30T13:00:00Z', 10000, 'booked'),
            ('org-a', 'C1', 'ny', 'dr-n1', '2026-06-12T14:00:00Z', 125000, 'declined'),
            ('org-a', 'F1', 'ny', 'dr-n1', '2026-07-01T14:00:00Z', 777700, 'accepted'),
            ('org-b', 'B1', 'b1', 'dr-b1', '2026-06-15T10:00:00Z', 1000000, 'offered')
        ) AS v(org, plan, loc, prov, at, cents, status);
        -- The latest classification is the plan's tier: A1 was restorative, then surgical. UL is not classified yet.
        INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                                     first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
        SELECT p.organization_id, p.plan_id, p.location_id, v.tier, 'self_book', 60, p.total_fee_cents, 0, v.sla, 900, 1, '{}',
               p.accepted_at, p.accepted_at + interval '5 seconds'
        FROM (VALUES
            ('A1', 'restorative', 1800), ('A1', 'surgical', 900), ('A2', 'restorative', 1800), ('A3', 'aesthetic', 1800),
            ('A4', 'restorative', 1800), ('A5', 'surgical', 900), ('A6', 'preventive', 3600), ('L1', 'restorative', 1800),
            ('U1', 'surgical', 900), ('U2', 'restorative', 1800), ('U3', 'aesthetic', 1800), ('U4', 'surgical', 900),
            ('U5', 'restorative', 1800), ('U6', 'preventive', 3600), ('C1', 'restorative', 1800), ('F1', 'surgical', 900),
            ('B1', 'restorative', 1800)
        ) AS v(plan, tier, sla)
        JOIN plans p ON p.plan_id = v.plan
        ORDER BY v.plan, v.tier = 'surgical';  -- ids ascending: A1's surgical row is the later one
        -- The history, in the order the workers write it: acceptances first.
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at, detail)
        SELECT organization_id, plan_id, location_id, 'accepted', accepted_at, accepted_at,
               jsonb_build_object('total_fee_cents', total_fee_cents)
        FROM plans ORDER BY accepted_at;
        -- Offers: seconds after acceptance; sla_met as the offer worker records it.
        INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, plan_accepted_at, sent_at, sla_seconds, sla_met)
        SELECT p.organization_id, p.plan_id, p.location_id, v.kind, 'self_book', 'sms', p.accepted_at,
               p.accepted_at + make_interval(secs => v.secs), v.sla, v.secs <= v.sla
        FROM (VALUES
            ('A1', 'initial', 600, 900), ('A3', 'initial', 1200, 1800), ('A4', 'initial', 900, 1800), ('A5', 'initial', 1200, 900),
            ('A6', 'initial', 3000, 3600), ('U1', 'initial', 300, 900), ('U2', 'initial', 2400, 1800), ('U2', 'nudge', 86400, 1800),
            ('U3', 'initial', 60, 1800), ('U4', 'initial', 600, 900), ('UL', 'initial', 12600, 3600), ('B1', 'initial', 100, 1800)
        ) AS v(plan, kind, secs, sla)
        JOIN plans p ON p.plan_id = v.plan;
        -- An offer made for an older acceptance of A1 does not count for the current one.
        INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, plan_accepted_at, sent_at, sla_seconds, sla_met)
        VALUES ('org-a', 'A1', 'ny', 'initial', 'self_book', 'sms', '2026-05-01T14:00:00Z', '2026-05-01T14:01:00Z', 900, true);
        -- The offer worker's status changes: offered with the initial offer (U3 escalated with its callback task).
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at)
        SELECT o.organization_id, o.plan_id, o.location_id, 'offered', o.sent_at, o.sent_at
        FROM offers o JOIN plans p USING (organization_id, plan_id)
        WHERE o.kind = 'initial' AND o.plan_accepted_at = p.accepted_at ORDER BY o.sent_at;
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, occurred_at, recorded_at)
        VALUES ('org-a', 'U3', 'ny', 'escalated', '2026-06-20T14:05:00Z', '2026-06-20T14:05:00Z');
        -- Bookings: hours after acceptance.
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, occurred_at, recorded_at, detail)
        SELECT p.organization_id, p.plan_id, p.location_id, 'booked', 'test', p.accepted_at + make_interval(hours => v.hours),
               p.accepted_at + make_interval(hours => v.hours),
               jsonb_build_object('via', v.via, 'seconds_from_acceptance', v.hours * 3600)
        FROM (VALUES ('A1', 72, 'link'), ('A2', 2, 'phone'), ('A3', 4, 'link'), ('A4', 1, 'pms'), ('A5', 24, 'phone'), ('A6', 48, 'link'),
                     ('UL', 5, 'link')) AS v(plan, hours, via)
        JOIN plans p ON p.plan_id = v.plan;
        -- C1 declined when its task was resolved; L1 booked before bookings were recorded with
        -- their time (what migration 0010 writes for such plans).
        INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, occurred_at, recorded_at, detail)
        VALUES ('org-a', 'C1', 'ny', 'declined', 'test', '2026-06-12T20:00:00Z', '2026-06-12T20:00:00Z', '{}'),
               ('org-a', 'L1', 'la', 'booked', 'migration/0010', '2026-06-20T18:00:00Z', '2026-06-20T18:00:00Z',
                '{"backfilled": true, "time_unknown": true}');
        INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, status, outcome, created_at, resolved_at)
        VALUES
            ('org-a', 'U3', 'ny', 'coord-1', 'callback', false, 'no channel', 'open', NULL, '2026-06-20T14:05:00Z', NULL),
            ('org-a', 'U4', 'la', 'coord-2', 'no_availability', true, 'no openings', 'open', NULL, '2026-06-28T06:00:00Z', NULL),
            ('org-a', 'A5', 'la', 'coord-2', 'escalation', false, 'ladder', 'resolved', 'booked', '2026-06-05T18:00:00Z', '2026-06-06T17:00:00Z'),
            ('org-a', 'C1', 'ny', 'coord-1', 'escalation', false, 'ladder', 'resolved', 'declined', '2026-06-12T15:00:00Z', '2026-06-12T20:00:00Z'),
            ('org-a', 'U1', 'ny', 'coord-1', 'callback', false, 'asked for a call', 'resolved', 'no_answer', '2026-06-30T15:00:00Z', '2026-06-30T17:00:00Z'),
            ('org-a', 'A1', 'ny', 'coord-1', 'escalation', false, 'ladder', 'cancelled', NULL, '2026-06-02T14:00:00Z', '2026-06-04T14:00:00Z'),
            ('org-b', 'B1', 'b1', 'coord-b', 'escalation', false, 'ladder', 'open', NULL, '2026-06-20T10:00:00Z', NULL);
        """

    static func database() async throws -> PostgresConnection {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "analytics"), logger: testLogger)
        try await conn.simpleQuery(history)
        return conn
    }

    /// Every row as its columns' text joined by "|", NULL as "null": exact, and readable in a failure.
    static func lines(_ conn: PostgresConnection, _ sql: String, _ binds: (any PostgresEncodable)?...) async throws -> [String] {
        try await conn.query(sql, binds: binds).map { row in
            try (0..<row.columnCount).map { try row.decode($0, as: String?.self) ?? "null" }.joined(separator: "|")
        }
    }

    @Test func planFactsTellScheduledUnscheduledAndClosedAsOfTheGivenTime() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT plan_id, tier, accepted_local_date, seconds_to_first_offer, initial_offers, initial_offers_sla_met,
                   booked_via, booked_local_date, seconds_to_booking, booked_same_day, outcome, age_days
            FROM analytics_plan_facts($1) WHERE organization_id = 'org-a' ORDER BY plan_id
            """, Self.asOf)
        #expect(
            rows == [
                "A1|surgical|2026-06-01|600|1|1|link|2026-06-04|259200|f|scheduled|29",
                "A2|restorative|2026-06-02|null|0|0|phone|2026-06-02|7200|t|scheduled|28",
                // Same-day in Los Angeles although the booking is on the next UTC day.
                "A3|aesthetic|2026-06-10|1200|1|1|link|2026-06-10|14400|t|scheduled|20",
                // Same UTC day, but accepted on the 15th and booked on the 16th in New York.
                "A4|restorative|2026-06-15|900|1|1|pms|2026-06-16|3600|f|scheduled|15",
                "A5|surgical|2026-06-05|1200|1|0|phone|2026-06-06|86400|f|scheduled|25",
                "A6|preventive|2026-06-08|3000|1|1|link|2026-06-10|172800|f|scheduled|22",
                "C1|restorative|2026-06-12|null|0|0|null|null|null|f|closed|18",
                "L1|restorative|2026-06-20|null|0|0|null|null|null|f|scheduled|10",
                "U1|surgical|2026-06-29|300|1|1|null|null|null|f|unscheduled|1",
                "U2|restorative|2026-06-25|2400|1|0|null|null|null|f|unscheduled|5",
                "U3|aesthetic|2026-06-20|60|1|1|null|null|null|f|unscheduled|10",
                "U4|surgical|2026-06-10|600|1|1|null|null|null|f|unscheduled|20",
                "U5|restorative|2026-05-15|null|0|0|null|null|null|f|unscheduled|46",
                "U6|preventive|2026-06-27|null|0|0|null|null|null|f|unscheduled|3",
                "UL|unclassified|2026-06-30|null|0|0|null|null|null|f|unscheduled|0",
            ])
        // Later the same day UL's booking (18:00Z) and its offer (16:30Z) have happened, and F1 is still in the future.
        let later = try await Self.lines(
            conn,
            "SELECT plan_id, outcome, seconds_to_first_offer, seconds_to_booking FROM analytics_plan_facts($1) WHERE plan_id IN ('UL', 'F1')",
            RFC3339.parse("2026-06-30T20:00:00Z")!)
        #expect(later == ["UL|scheduled|12600|18000"])
    }

    @Test func unscheduledCasesAgeInLocalDays() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT organization_id, location_id, plan_id, provider_id, tier, status, value_cents, value_dollars,
                   age_days, age_hours, age_bucket, age_bucket_order, offers_sent, open_tasks
            FROM analytics_unscheduled_cases($1) ORDER BY organization_id, plan_id
            """, Self.asOf)
        #expect(
            rows == [
                "org-a|ny|U1|dr-n1|surgical|offered|500000|5000.00|1|25.00|0-2 days|1|1|1",
                "org-a|la|U2|dr-l1|restorative|offered|300000|3000.00|5|119.00|3-7 days|2|2|0",
                "org-a|ny|U3|dr-n2|aesthetic|escalated|100000|1000.00|10|242.00|8-14 days|3|1|1",
                "org-a|la|U4|dr-l1|surgical|offered|600000|6000.00|20|479.00|15-30 days|4|1|1",
                // Status as of "now" from the history: U5 was never offered.
                "org-a|ny|U5|dr-n2|restorative|accepted|250000|2500.00|46|1106.00|over 30 days|5|0|0",
                // 59 hours old, 2 UTC days, but accepted on the 27th in Los Angeles: 3 local days.
                "org-a|la|U6|dr-l2|preventive|accepted|15000|150.00|3|59.00|3-7 days|2|0|0",
                // Booked (and offered) later, after "now": still accepted then.
                "org-a|ny|UL|dr-n1|unclassified|accepted|10000|100.00|0|3.00|0-2 days|1|0|0",
                "org-b|b1|B1|dr-b1|restorative|offered|1000000|10000.00|15|366.00|15-30 days|4|1|1",
            ])
        let aging = try await Self.lines(
            conn, "SELECT * FROM analytics_unscheduled_aging($1) ORDER BY organization_id, location_id, age_bucket_order", Self.asOf)
        #expect(
            aging == [
                "org-a|la|3-7 days|2|2|315000|3150.00|5",
                "org-a|la|15-30 days|4|1|600000|6000.00|20",
                "org-a|ny|0-2 days|1|2|510000|5100.00|1",
                "org-a|ny|8-14 days|3|1|100000|1000.00|10",
                "org-a|ny|over 30 days|5|1|250000|2500.00|46",
                "org-b|b1|15-30 days|4|1|1000000|10000.00|15",
            ])
    }

    @Test func unscheduledProductionByOrganizationLocationProviderAndTier() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT level, organization_id, location_id, provider_id, tier, accepted_cases, accepted_cents, accepted_dollars,
                   unscheduled_cases, unscheduled_cents, unscheduled_dollars, unscheduled_pct, scheduled_cents, closed_cents
            FROM analytics_unscheduled_production($1, $2, $3, $4)
            ORDER BY level, location_id NULLS FIRST, provider_id NULLS FIRST, tier NULLS FIRST
            """, Self.june.from, Self.june.to, Self.asOf, "org-a")
        #expect(
            rows == [
                // With an organization given, "all" and "tier" cover that organization.
                "all|null|null|null|null|14|5000000|50000.00|6|1525000|15250.00|30.50|3350000|125000",
                "location|org-a|la|null|null|7|2915000|29150.00|3|915000|9150.00|31.39|2000000|0",
                "location|org-a|ny|null|null|7|2085000|20850.00|3|610000|6100.00|29.26|1350000|125000",
                "location_tier|org-a|la|null|aesthetic|1|80000|800.00|0|0|0.00|0.00|80000|0",
                "location_tier|org-a|la|null|preventive|2|35000|350.00|1|15000|150.00|42.86|20000|0",
                "location_tier|org-a|la|null|restorative|2|400000|4000.00|1|300000|3000.00|75.00|100000|0",
                "location_tier|org-a|la|null|surgical|2|2400000|24000.00|1|600000|6000.00|25.00|1800000|0",
                "location_tier|org-a|ny|null|aesthetic|1|100000|1000.00|1|100000|1000.00|100.00|0|0",
                "location_tier|org-a|ny|null|restorative|3|475000|4750.00|0|0|0.00|0.00|350000|125000",
                "location_tier|org-a|ny|null|surgical|2|1500000|15000.00|1|500000|5000.00|33.33|1000000|0",
                "location_tier|org-a|ny|null|unclassified|1|10000|100.00|1|10000|100.00|100.00|0|0",
                "organization|org-a|null|null|null|14|5000000|50000.00|6|1525000|15250.00|30.50|3350000|125000",
                "organization_tier|org-a|null|null|aesthetic|2|180000|1800.00|1|100000|1000.00|55.56|80000|0",
                "organization_tier|org-a|null|null|preventive|2|35000|350.00|1|15000|150.00|42.86|20000|0",
                "organization_tier|org-a|null|null|restorative|5|875000|8750.00|1|300000|3000.00|34.29|450000|125000",
                "organization_tier|org-a|null|null|surgical|4|3900000|39000.00|2|1100000|11000.00|28.21|2800000|0",
                "organization_tier|org-a|null|null|unclassified|1|10000|100.00|1|10000|100.00|100.00|0|0",
                "provider|org-a|la|dr-l1|null|5|2880000|28800.00|2|900000|9000.00|31.25|1980000|0",
                "provider|org-a|la|dr-l2|null|2|35000|350.00|1|15000|150.00|42.86|20000|0",
                "provider|org-a|ny|dr-n1|null|5|1835000|18350.00|2|510000|5100.00|27.79|1200000|125000",
                "provider|org-a|ny|dr-n2|null|2|250000|2500.00|1|100000|1000.00|40.00|150000|0",
                "provider_tier|org-a|la|dr-l1|aesthetic|1|80000|800.00|0|0|0.00|0.00|80000|0",
                "provider_tier|org-a|la|dr-l1|restorative|2|400000|4000.00|1|300000|3000.00|75.00|100000|0",
                "provider_tier|org-a|la|dr-l1|surgical|2|2400000|24000.00|1|600000|6000.00|25.00|1800000|0",
                "provider_tier|org-a|la|dr-l2|preventive|2|35000|350.00|1|15000|150.00|42.86|20000|0",
                "provider_tier|org-a|ny|dr-n1|restorative|2|325000|3250.00|0|0|0.00|0.00|200000|125000",
                "provider_tier|org-a|ny|dr-n1|surgical|2|1500000|15000.00|1|500000|5000.00|33.33|1000000|0",
                "provider_tier|org-a|ny|dr-n1|unclassified|1|10000|100.00|1|10000|100.00|100.00|0|0",
                "provider_tier|org-a|ny|dr-n2|aesthetic|1|100000|1000.00|1|100000|1000.00|100.00|0|0",
                "provider_tier|org-a|ny|dr-n2|restorative|1|150000|1500.00|0|0|0.00|0.00|150000|0",
                "tier|null|null|null|aesthetic|2|180000|1800.00|1|100000|1000.00|55.56|80000|0",
                "tier|null|null|null|preventive|2|35000|350.00|1|15000|150.00|42.86|20000|0",
                "tier|null|null|null|restorative|5|875000|8750.00|1|300000|3000.00|34.29|450000|125000",
                "tier|null|null|null|surgical|4|3900000|39000.00|2|1100000|11000.00|28.21|2800000|0",
                "tier|null|null|null|unclassified|1|10000|100.00|1|10000|100.00|100.00|0|0",
            ])
        // Every organization: org-b's $10,000 joins the total.
        let all = try await Self.lines(
            conn,
            "SELECT accepted_cents, unscheduled_cents, unscheduled_pct FROM analytics_unscheduled_production($1, $2, $3) WHERE level = 'all'",
            Self.june.from, Self.june.to, Self.asOf)
        #expect(all == ["6000000|2525000|42.08"])
    }

    @Test func sameDaySchedulingCountsLocalDays() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT level, location_id, tier, accepted_cases, same_day_cases, same_day_pct, booked_cases
            FROM analytics_same_day_scheduling($1, $2, $3, $4)
            WHERE level IN ('organization', 'location', 'organization_tier')
            ORDER BY level, location_id, tier
            """, Self.june.from, Self.june.to, Self.asOf, "org-a")
        #expect(
            rows == [
                // ny: A2 only (A4 is the same UTC day but not the same New York day); la: A3 only (next UTC day).
                "location|la|null|7|1|14.29|3",
                "location|ny|null|7|1|14.29|3",
                "organization|null|null|14|2|14.29|6",
                "organization_tier|null|aesthetic|2|1|50.00|1",
                "organization_tier|null|preventive|2|0|0.00|1",
                "organization_tier|null|restorative|5|1|20.00|2",
                "organization_tier|null|surgical|4|0|0.00|2",
                "organization_tier|null|unclassified|1|0|0.00|0",
            ])
        // Day boundaries in UTC would have counted A4 (New York) instead of A3 (Los Angeles): still 2, so check who.
        let sameDay = try await Self.lines(
            conn, "SELECT plan_id FROM analytics_plan_facts($1) WHERE booked_same_day ORDER BY plan_id", Self.asOf)
        #expect(sameDay == ["A2", "A3"])
    }

    @Test func responseTimesArePercentilesOfAcceptanceToFirstOfferAndToBooking() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT level, location_id, tier, offered_cases, first_offer_p50_seconds, first_offer_p90_seconds,
                   first_offer_p50_minutes, first_offer_p90_minutes, booked_cases, booking_p50_seconds, booking_p90_seconds,
                   booking_p50_hours, booking_p90_hours
            FROM analytics_response_times($1, $2, $3, $4)
            WHERE level IN ('organization', 'location', 'organization_tier')
            ORDER BY level, location_id, tier
            """, Self.june.from, Self.june.to, Self.asOf, "org-a")
        #expect(
            rows == [
                // la: offers 1200, 1200, 2400, 3000, 600 -> p50 1200, p90 2400 + 0.6 * 600; bookings 4, 24, 48 h.
                "location|la|null|5|1200|2760|20.00|46.00|3|86400|155520|24.00|43.20",
                // ny: offers 60, 300, 600, 900; bookings 1, 2, 72 h.
                "location|ny|null|4|450|810|7.50|13.50|3|7200|208800|2.00|58.00",
                // 1, 2, 4, 24, 48, 72 h: p50 = (4 + 24) / 2 = 14 h, p90 = 48 + 0.5 * 24 = 60 h.
                "organization|null|null|9|900|2520|15.00|42.00|6|50400|216000|14.00|60.00",
                "organization_tier|null|aesthetic|2|630|1086|10.50|18.10|1|14400|14400|4.00|4.00",
                "organization_tier|null|preventive|1|3000|3000|50.00|50.00|1|172800|172800|48.00|48.00",
                "organization_tier|null|restorative|2|1650|2250|27.50|37.50|2|5400|6840|1.50|1.90",
                // 300, 600, 600, 1200 s: p90 = 600 + 0.7 * 600; bookings 24 and 72 h: p50 48 h, p90 24 + 0.9 * 48 = 67.2 h.
                "organization_tier|null|surgical|4|600|1020|10.00|17.00|2|172800|241920|48.00|67.20",
                "organization_tier|null|unclassified|0|null|null|null|null|0|null|null|null|null",
            ])
    }

    @Test func firstOfferSLAComplianceByTier() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let rows = try await Self.lines(
            conn,
            """
            SELECT level, tier, initial_offers, initial_offers_sla_met, initial_offers_missed, first_offer_sla_pct
            FROM analytics_first_offer_sla($1, $2, $3, $4)
            WHERE level IN ('organization', 'organization_tier')
            ORDER BY level, tier
            """, Self.june.from, Self.june.to, Self.asOf, "org-a")
        #expect(
            rows == [
                "organization|null|9|7|2|77.78",
                "organization_tier|aesthetic|2|2|0|100.00",
                "organization_tier|preventive|1|1|0|100.00",
                "organization_tier|restorative|2|1|1|50.00",
                // A1's offer for an older acceptance (May) does not count; A5 missed.
                "organization_tier|surgical|4|3|1|75.00",
                "organization_tier|unclassified|0|0|0|null",
            ])
    }

    @Test func escalationOutcomesAndOpenTasks() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let outcomes = try await Self.lines(
            conn, "SELECT * FROM analytics_escalation_outcomes($1, $2, $3) ORDER BY 1, 2, 3, 4, 5",
            Self.june.from, Self.june.to, Self.asOf)
        #expect(
            outcomes == [
                "org-a|la|escalation|resolved|booked|1|0|1|1|23.00|23.00",
                "org-a|la|no_availability|open|null|1|1|1|0|null|null",
                // U3's callback, and U1's, resolved at 17:00Z: after "now", so open then.
                "org-a|ny|callback|open|null|2|0|2|0|null|null",
                "org-a|ny|escalation|cancelled|null|1|0|1|1|48.00|48.00",
                "org-a|ny|escalation|resolved|declined|1|0|1|0|5.00|5.00",
                "org-b|b1|escalation|open|null|1|0|1|0|null|null",
            ])
        let open = try await Self.lines(
            conn,
            """
            SELECT organization_id, location_id, plan_id, owner_id, kind, urgent, created_local_date, age_hours, age_days,
                   age_bucket, plan_status, value_dollars
            FROM analytics_open_tasks($1) ORDER BY id
            """, Self.asOf)
        #expect(
            open == [
                "org-a|ny|U3|coord-1|callback|f|2026-06-20|241.92|10|8-14 days|escalated|1000.00",
                // Created 23:00 PDT on the 27th: 58 hours, 3 local days.
                "org-a|la|U4|coord-2|no_availability|t|2026-06-27|58.00|3|3-7 days|offered|6000.00",
                // Resolved at 17:00Z, after "now": still open then.
                "org-a|ny|U1|coord-1|callback|f|2026-06-30|1.00|0|0-2 days|offered|5000.00",
                "org-b|b1|B1|coord-b|escalation|f|2026-06-20|246.00|10|8-14 days|offered|10000.00",
            ])
    }

    @Test func convenienceViewsUseNow() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        // Relative to the wall clock the June history is old (tests run after June 2026 or before it; either way
        // the views equal their functions called with now()).
        for (view, function) in [
            ("analytics_plan_facts", "analytics_plan_facts(now())"),
            ("analytics_unscheduled_cases", "analytics_unscheduled_cases(now())"),
            ("analytics_unscheduled_aging", "analytics_unscheduled_aging(now())"),
            ("analytics_benchmarks", "analytics_benchmarks(NULL, NULL, now())"),
            ("analytics_unscheduled_production", "analytics_unscheduled_production(NULL, NULL, now())"),
            ("analytics_same_day_scheduling", "analytics_same_day_scheduling(NULL, NULL, now())"),
            ("analytics_response_times", "analytics_response_times(NULL, NULL, now())"),
            ("analytics_first_offer_sla", "analytics_first_offer_sla(NULL, NULL, now())"),
            ("analytics_escalation_outcomes", "analytics_escalation_outcomes(NULL, NULL, now())"),
            ("analytics_open_tasks", "analytics_open_tasks(now())"),
            ("analytics_unscheduled_by_owner", "analytics_unscheduled_by_owner(now())"),
        ] {
            let diff = try await conn.query(
                "SELECT count(*) FROM ((SELECT * FROM \(view) EXCEPT ALL SELECT * FROM \(function)) UNION ALL (SELECT * FROM \(function) EXCEPT ALL SELECT * FROM \(view))) d"
            )
            #expect(try diff[0].decode(0, as: Int.self) == 0, "\(view)")
        }
    }

    @Test func reportReadsTheBenchmarks() async throws {
        let conn = try await Self.database()
        defer { conn.close() }
        let r = try await AnalyticsReport.load(on: conn, organization: "org-a", from: Self.june.from, to: Self.june.to, asOf: Self.asOf)
        let t = r.total
        #expect(t.tier == nil && t.acceptedCases == 14 && t.acceptedCents == 5_000_000)
        #expect(t.scheduledCases == 7 && t.scheduledCents == 3_350_000 && t.closedCases == 1 && t.closedCents == 125_000)
        #expect(t.unscheduledCases == 6 && t.unscheduledCents == 1_525_000 && t.unscheduledPercent == 30.5)
        #expect(t.sameDayCases == 2 && t.sameDayPercent == 14.29)
        #expect(t.offeredCases == 9 && t.firstOfferP50Seconds == 900 && t.firstOfferP90Seconds == 2520)
        #expect(t.bookedCases == 6 && t.bookingP50Seconds == 50400 && t.bookingP90Seconds == 216_000)
        #expect(t.initialOffers == 9 && t.initialOffersSLAMet == 7 && t.firstOfferSLAPercent == 77.78)
        #expect(r.tiers.map(\.tier) == ["aesthetic", "preventive", "restorative", "surgical", "unclassified"])
        let surgical = try #require(r.tiers.first { $0.tier == "surgical" })
        #expect(surgical.unscheduledPercent == 28.21 && surgical.unscheduledCents == 1_100_000 && surgical.sameDayPercent == 0)
        #expect(surgical.bookingP50Seconds == 172_800 && surgical.bookingP90Seconds == 241_920)
        #expect(surgical.firstOfferP50Seconds == 600 && surgical.firstOfferP90Seconds == 1020 && surgical.firstOfferSLAPercent == 75)
        let unclassified = try #require(r.tiers.last)
        #expect(unclassified.bookingP50Seconds == nil && unclassified.firstOfferSLAPercent == nil && unclassified.unscheduledPercent == 100)

        let table = r.table()
        #expect(
            table.contains("organization org-a, cases accepted 2026-06-01 to 2026-06-30 (location-local days), as of 2026-06-30T16:00:00Z"))
        #expect(table.contains("all tiers"))
        #expect(table.contains("14.29%") && table.contains("30.50%") && table.contains("$15,250.00") && table.contains("14.0 h"))
        #expect(table.contains("60.0 h") && table.contains("15.0 min") && table.contains("42.0 min") && table.contains("77.78% (7/9)"))
        let csv = r.csv().split(separator: "\n").map(String.init)
        #expect(csv.count == 7)
        #expect(csv[0].hasPrefix("tier,accepted_cases,accepted_cents,"))
        #expect(
            csv[1] == "all,14,5000000,7,3350000,6,1525000,15250.00,30.5,1,125000,2,14.29,9,900,2520,6,50400,216000,9,7,77.78,0,0,,0,0,,0,0,"
        )
        let json = try JSONParser.parse(r.json())
        #expect(json["total"]?["unscheduled_cents"] == .int(1_525_000))
        #expect(json["total"]?["booking_p50_seconds"] == .int(50400))
        #expect(json["tiers"]?.arrayValue?.count == 5)
        #expect(json["organization"] == .string("org-a"))

        // Every organization, default period: the last 30 days ending June 30 (June 1 to 30 in every zone here).
        let all = try await AnalyticsReport.load(on: conn, organization: nil, from: nil, to: nil, asOf: Self.asOf)
        #expect(all.total.acceptedCents == 6_000_000 && all.total.unscheduledPercent == 42.08 && all.total.initialOffers == 10)
        // A period in which nothing was accepted.
        let empty = try await AnalyticsReport.load(
            on: conn, organization: "org-a", from: PostgresDate(year: 2026, month: 1, day: 1),
            to: PostgresDate(year: 2026, month: 1, day: 31),
            asOf: Self.asOf)
        #expect(empty.total.acceptedCases == 0 && empty.total.sameDayPercent == nil && empty.tiers.isEmpty)
        await #expect(throws: AnalyticsReport.UnknownOrganization.self) {
            try await AnalyticsReport.load(on: conn, organization: "nope", from: nil, to: nil, asOf: Self.asOf)
        }
    }

    @Test func reportCommandPrintsTheBenchmarks() async throws {
        let url = try await MigratedDatabase.fresh(prefix: "analytics")
        let conn = try await PostgresConnection.connect(url, logger: testLogger)
        try await conn.simpleQuery(Self.history)
        conn.close()
        let args = ["report", "--from", "2026-06-01", "--to", "2026-06-30", "--as-of", "2026-06-30T16:00:00Z", "--database-url", url]
        let csv = try await CLI.run(args + ["--format", "csv"], env: ["PLANROUTER_ORGANIZATION": "org-a"])
        #expect(csv.status == 0, "stderr: \(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 7)
        #expect(
            lines.dropFirst().first
                == "all,14,5000000,7,3350000,6,1525000,15250.00,30.5,1,125000,2,14.29,9,900,2520,6,50400,216000,9,7,77.78,0,0,,0,0,,0,0,")
        let table = try await CLI.run(args)
        #expect(table.status == 0, "stderr: \(table.stderr)")
        #expect(table.stdout.contains("all organizations") && table.stdout.contains("42.08%"))
        let json = try await CLI.run(args + ["--format", "json", "--organization", "org-b"])
        #expect(try JSONParser.parse(json.stdout)["total"]?["unscheduled_cents"] == .int(1_000_000))

        for (bad, mentions) in [
            (["--from", "2026-02-30"], "--from \"2026-02-30\" is not a date"),
            (["--from", "2026-07-01"], "is before --from"),
            (["--organization", "nope"], "unknown organization"),
            (["--as-of", "yesterday"], "--as-of"),
        ] {
            let r = try await CLI.run(args + bad)
            #expect(r.status != 0)
            #expect(r.stderr.hasPrefix("planrouter: error: ") && r.stderr.contains(mentions), "stderr: \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
    }
}
