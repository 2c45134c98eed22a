import Foundation
import PlanRouterCore
import PlanRouterEmulators
import PlanRouterPostgres
import Testing

@testable import PlanRouterConnectors

/// Holds shown to the front desk as Open Dental blockouts of the "PlanRouter hold"
/// definition, made once per hold and deleted when the hold ends (emulator over HTTP, real PostgreSQL).
@Suite(.serialized) struct OpenDentalHoldBlockoutTests {
    /// An offered case holding Wednesday 09:00–10:00 New York on the office's operatory; returns the hold's id.
    func hold(_ f: OpenDentalFixture, _ a: OpenDentalFixture.Office) async throws -> Int64 {
        let start = RFC3339.parse("2026-12-02T14:00:00Z")!
        return try await f.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source,
                                   total_fee_cents, patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', 'p-1', 'loc-a', 'office-a-pat-1', $1, $2, 'chair', 100, '{"first_name": "Ann", "sms_consent": true}',
                        'offered', 'test', 'e-1', $2, $2)
                """, a.office.providerID(a.provider), OpenDentalFixture.now.addingTimeInterval(-600))
            return try await conn.query(
                """
                INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                          patient_id, created_at, expires_at)
                VALUES ('loc-a', $1, $2, tstzrange($3, $4), tstzrange($3, $4), 'hold', 'org-1', 'p-1', 'office-a-pat-1', $5, $6)
                RETURNING id
                """, a.office.providerID(a.provider), a.office.operatoryID(a.operatory), start, start.addingTimeInterval(3600),
                OpenDentalFixture.now, OpenDentalFixture.now.addingTimeInterval(86_400)
            )[0].decode(0, as: Int64.self)
        }
    }

    @Test func aHoldIsShownAsOneBlockoutAndRemovedWhenItEnds() async throws {
        let f = try await OpenDentalFixture()
        var a = try f.addOffice("office-a", location: "loc-a")
        a.office.holdBlockoutType = 77
        let id = try await hold(f, a)
        let office = a
        try await f.withServer { (base: String) async throws in
            let w = WritebackWorker(
                offices: [office.office], clients: [office.office.id: f.client(office, base: base)], pool: f.pool, clock: f.clock,
                health: ConnectorHealth(telemetry: nil), logger: testLogger)
            #expect(try await w.runOnce() == 1)
            let made = f.emulator.blockouts(office.key)
            try #require(made.count == 1)
            #expect(made[0].note == "PlanRouter hold \(id)")
            #expect(made[0].blockoutType == 77)
            #expect(made[0].operatories == [office.operatory])
            #expect((made[0].schedDate, made[0].startTime, made[0].stopTime) == ("2026-12-02", "09:00:00", "10:00:00"))
            #expect(try await w.runOnce() == 0)

            // A crash after the POST, before the number was recorded: the retry finds its blockout by the marker.
            _ = try await f.pool.withConnection {
                try await $0.execute("UPDATE pms_hold_blockouts SET status = 'creating', schedule_num = NULL")
            }
            #expect(try await w.runOnce() == 1)
            #expect(f.emulator.blockouts(office.key).count == 1)

            // The schedule mirror does not read PlanRouter's own hold back as a blockout.
            try f.emulator.addSchedule(
                office.key, date: "2026-12-02", start: "08:00:00", stop: "17:00:00", provNum: office.provider,
                operatories: [office.operatory])
            _ = try await f.poller(office, base: base).pollReference()
            let published = try await f.outbox("schedule.changed").compactMap { $0["data"] }
            try #require(published.count == 1)
            let blocks: [JSONValue] = published[0]["blocks"]?.arrayValue ?? []
            let blockouts: [JSONValue] = published[0]["blockouts"]?.arrayValue ?? []
            #expect(blocks.count == 1)
            #expect(blockouts.isEmpty)

            // The hold ends (released): its blockout is deleted, once.
            _ = try await f.pool.withConnection {
                try await $0.execute(
                    "UPDATE reservations SET active = false, released_at = $1, release_reason = 'released'", OpenDentalFixture.now)
            }
            #expect(try await w.runOnce() == 1)
            #expect(f.emulator.blockouts(office.key).isEmpty)
            #expect(try await w.runOnce() == 0)
        }
        #expect(try await f.count("SELECT count(*)::int8 FROM pms_hold_blockouts WHERE status = 'removed'") == 1)
        await f.close()
    }
}
