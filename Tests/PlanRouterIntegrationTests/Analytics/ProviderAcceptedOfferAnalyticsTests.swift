import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// Issue 16, point 1: a first offer whose message the notify worker recorded counts from the
/// moment the provider accepted that message (message_deliveries.sent_at), not from its release;
/// a message not yet accepted (or never: failed) is not an offer yet. The deferred-offer fixture's
/// plans, written and recorded through the repositories the workers use.
///
///   N1 surgical, SLA 15 min: accepted 14:00Z, offer released 14:01Z, the SMS provider accepted it
///      only at 14:20Z (a provider outage): 20 min to first offer, SLA missed.
///   D1: offer released 12:00Z; its message failed permanently: never offered.
@Suite struct ProviderAcceptedOfferAnalyticsTests {
    static func at(_ s: String) -> Date { RFC3339.parse(s)! }

    func message(_ plan: String, offerID: Int64) -> NewDelivery {
        NewDelivery(
            message: PatientMessage(
                messageID: "msg-\(plan)", organizationID: "org-d", locationID: "ny", planID: plan, patientID: "pat-\(plan)",
                channel: .sms, to: "+15555550100", kind: .offer, body: "Book here", offerID: offerID),
            eventSource: "planrouter/offer", eventID: "msg-\(plan)")
    }

    @Test func aFirstOfferCountsFromTheProvidersAcceptanceOfItsMessage() async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "provider"), logger: testLogger)
        defer { conn.close() }
        try await conn.simpleQuery(DeferredOfferAnalyticsTests.setup)
        let t = DeferredOfferAnalyticsTests()
        let d1 = try await OffersRepository.insertInitial(
            [
                t.row(
                    "D1", accepted: "2026-06-10T01:25:00Z", now: Self.at("2026-06-10T01:25:30Z"), released: Self.at("2026-06-10T12:00:00Z"))
            ],
            now: Self.at("2026-06-10T01:25:30Z"), on: conn)
        let n1 = try await OffersRepository.insertInitial(
            [t.row("N1", accepted: "2026-06-10T14:00:00Z", now: Self.at("2026-06-10T14:01:00Z"), released: nil)],
            now: Self.at("2026-06-10T14:01:00Z"), on: conn)
        let d1Offer = try #require(d1.values.first)
        let n1Offer = try #require(n1.values.first)
        // The notify worker records both messages at 14:01:10, claims them, and the provider answers.
        try await MessageDeliveriesRepository.record(
            [message("D1", offerID: d1Offer), message("N1", offerID: n1Offer)], now: Self.at("2026-06-10T14:01:10Z"), on: conn)
        let claimed = try await MessageDeliveriesRepository.claim(
            worker: "w", limit: 10, leaseUntil: Self.at("2026-06-10T15:00:00Z"), now: Self.at("2026-06-10T14:01:20Z"), on: conn)
        #expect(claimed.count == 2)
        for c in claimed {
            let accepted = c.key.planID == "N1"
            try await MessageDeliveriesRepository.settle(
                id: c.id, worker: "w", status: accepted ? .sent : .failed, providerID: accepted ? "SM1" : nil,
                error: accepted ? nil : "twilio_21211", now: Self.at("2026-06-10T14:20:00Z"), on: conn)
        }

        let facts = """
            SELECT plan_id, coalesce(to_char(first_offer_at AT TIME ZONE 'UTC', 'HH24:MI'), 'null'), coalesce(seconds_to_first_offer::text, 'null'),
                   offers_sent, initial_offers, initial_offers_sla_met
            FROM analytics_plan_facts($1) ORDER BY plan_id
            """
        // 14:10: N1's message is recorded but not yet accepted by the provider: not offered yet.
        let early = try await AnalyticsTests.lines(conn, facts, Self.at("2026-06-10T14:10:00Z"))
        #expect(early == ["D1|null|null|0|0|0", "N1|null|null|0|0|0"], "\(early)")
        // 16:00: N1 counts from 14:20 (1,200 s, over its 900 s SLA); D1's message failed: still not offered.
        let late = try await AnalyticsTests.lines(conn, facts, Self.at("2026-06-10T16:00:00Z"))
        #expect(late == ["D1|null|null|0|0|0", "N1|14:20|1200|1|1|0"], "\(late)")
        // Before the notify worker recorded anything (as of 14:01:05), N1 counted from its release, as without a notify worker.
        #expect(
            try await AnalyticsTests.lines(conn, facts, Self.at("2026-06-10T14:01:05Z")) == ["D1|12:00|38100|1|1|0", "N1|14:01|60|1|1|1"])
    }
}
