import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Issue 12 through the real offer worker (PostgreSQL and the mock-cluster broker): the required
/// provider role (point 3), zone abbreviations in the message (point 6) and the first-offer time and
/// SLA of a message held for quiet hours (point 7).
@Suite struct OfferProviderAndTimeTests {
    static let ny = TimeZone(identifier: "America/New_York")!

    func run(_ h: PipelineHarness, at now: Date, until what: String, _ done: () async throws -> Bool) async throws {
        let clock = ManualClock(now)
        let classifier = try h.classifier(clock: clock)
        let offer = try h.offer(clock: clock)
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() }]
        defer { Task { for r in runs { await r.stop() } } }
        try await eventually(what, done)
        for r in runs { await r.stop() }
    }

    func text(_ h: PipelineHarness, _ sql: String) async throws -> [String] {
        try await h.pool.withConnection { conn in try await conn.query(sql).map { try $0.decode(0, as: String?.self) ?? "null" } }
    }

    /// An implant consult whose procedure needs an oral surgeon; the treating provider (prov-3) is a
    /// general dentist with the same free days. Before the fix the dentist's times were offered.
    @Test func aRequiredRoleIsNeverAnsweredWithTheTreatingDentistsTimes() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [
            TestEvents.schedule(providers: [("prov-3", "dentist", ["op-1"]), ("prov-os", "oral_surgeon", ["op-2"])])
        ])
        var accepted = TestEvents.acceptedWith(plan: "consult", codes: [("D7210", 90_000)]).objectValue!
        var data = accepted["data"]!.objectValue!
        data["procedures"] = .array(
            data["procedures"]!.arrayValue!.map { p in
                var o = p.objectValue!
                o["provider_role"] = "oral_surgeon"
                return .object(o)
            })
        accepted["data"] = .object(data)
        try await h.publish(events: [.object(accepted)])
        try await run(h, at: RFC3339.parse("2026-12-01T14:30:00Z")!, until: "offer recorded") {
            try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'consult' AND kind = 'offered'") == 1
        }
        #expect(
            try await text(h, "SELECT DISTINCT provider_id FROM reservations WHERE plan_id = 'consult' AND kind = 'hold'") == ["prov-os"])
        #expect(try await h.count("SELECT count(*) FROM reservations WHERE plan_id = 'consult' AND kind = 'hold'") == 3)
        #expect(
            try await text(
                h,
                "SELECT detail->>'provider_role' || ' ' || (detail->>'provider_match') FROM plan_events WHERE plan_id = 'consult' AND kind = 'offered'"
            )
                == ["oral_surgeon required_role"])
        await h.close()
    }

    /// The offer worker loads a calendar's first three weeks and the rest only when they do not settle
    /// the search. Here the treating dentist (prov-3) has no time before 2026-12-28, four weeks out,
    /// while another dentist is free from tomorrow: the case still gets the treating dentist's first
    /// openings, as with the whole calendar loaded, not the other dentist's nor "no availability".
    @Test func openingsBeyondTheFirstWeeksLoadedAreFoundForTheTreatingDentist() async throws {
        let h = try await PipelineHarness(partitions: 1)
        var schedule = TestEvents.schedule(
            from: "2026-12-01", to: "2027-01-29", providers: [("prov-3", "dentist", ["op-1"]), ("prov-7", "dentist", ["op-2"])]
        ).objectValue!
        var data = schedule["data"]!.objectValue!
        data["blocks"] = .array(
            data["blocks"]!.arrayValue!.filter { b in
                b["provider_id"]?.stringValue != "prov-3" || b["start"]!.stringValue! >= "2026-12-28"
            })
        schedule["data"] = .object(data)
        try await h.publishSchedule(events: [.object(schedule)])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "crown", codes: [("D2740", 135_000)])])
        try await run(h, at: RFC3339.parse("2026-12-01T14:30:00Z")!, until: "offer recorded") {
            try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'crown' AND kind = 'offered'") == 1
        }
        #expect(
            try await text(
                h,
                """
                SELECT provider_id || ' ' || to_char(lower(during) AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI')
                FROM reservations WHERE plan_id = 'crown' AND kind = 'hold' ORDER BY lower(during)
                """) == ["prov-3 2026-12-28 08:00", "prov-3 2026-12-29 08:00", "prov-3 2026-12-30 08:00"])
        await h.close()
    }

    /// Accepted at 21:29 EST and offered a minute later, inside the default quiet hours (20:00–08:00):
    /// the message waits for 08:00 EST, the offer counts from then and misses the 30-minute SLA, and
    /// the message names the zone of each time.
    @Test func aMessageHeldForQuietHoursIsSentAndMeasuredAtItsRelease() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "late", codes: [("D2740", 135_000)], acceptedAt: "2026-12-02T02:29:00Z")]
        )
        try await run(h, at: RFC3339.parse("2026-12-02T02:30:00Z")!, until: "offer published") {
            try await h.count("SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND published_at IS NOT NULL") == 1
        }
        #expect(
            try await text(
                h,
                """
                SELECT to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') || ' ' || to_char(released_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI')
                       || ' ' || sla_met FROM offers WHERE plan_id = 'late'
                """) == ["2026-12-02T02:30 2026-12-02T13:00 false"])
        #expect(
            try await text(
                h,
                "SELECT (detail->>'sla_met') || ' ' || (detail->>'seconds_to_offer') || ' ' || (detail->>'released_at') FROM plan_events WHERE plan_id = 'late' AND kind = 'offered'"
            )
                == ["false 37860 2026-12-02T13:00:00Z"])
        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1)
        let message = try PatientMessage(data: try EventValidator.shared.decode(messages[0].value, expecting: [.patientMessages]).data)
        #expect(message.sendAfter == RFC3339.parse("2026-12-02T13:00:00Z"))
        // The next business day after Tue Dec 1 (local) and the two after it, 08:00 EST each.
        #expect(message.body.contains("Wed Dec 2, 8:00 AM EST, Thu Dec 3, 8:00 AM EST, Fri Dec 4, 8:00 AM EST"), "\(message.body)")
        await h.close()
    }
}
