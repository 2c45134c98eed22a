import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// `planrouter retention prune`: operational rows past their retention go, in chunks; what
/// deduplication, live holds, pending timers, blockouts and deposits still need stays.
@Suite struct OperationalRetentionTests {
    static let now = RFC3339.parse("2026-11-29T12:00:00Z")!
    static func daysAgo(_ d: Double) -> Date { now.addingTimeInterval(-d * 86_400) }

    /// The inbox keeps every id younger than its retention: such an event arriving again is still
    /// skipped by the consumers' own path (`InboxRepository.record`); only an older id is gone.
    @Test func pruningTheInboxNeverForgetsAnIdInsideItsRetention() async throws {
        let h = try await PipelineHarness(partitions: 1)
        func entry(_ id: String) -> InboxEntry {
            InboxEntry(key: EventKey(source: "opendental/loc-12", id: id), topic: "plan.accepted", partition: 0, offset: 1)
        }
        try await h.pool.withConnection { conn in
            for (id, age) in [("e-60d", 60.0), ("e-46d", 46.0), ("e-44d", 44.0), ("e-1d", 1.0)] {
                _ = try await InboxRepository.record(consumer: "planrouter-classifier", [entry(id)], now: Self.daysAgo(age), on: conn)
            }
        }
        // One row per chunk: the loop of `retention prune` repeats until a chunk comes back short.
        var removed: [Int] = []
        while true {
            let n = try await h.pool.withConnection {
                try await OperationalRetentionRepository.pruneInbox(receivedBefore: Self.daysAgo(45), limit: 1, on: $0)
            }
            removed.append(n)
            if n < 1 { break }
        }
        #expect(removed == [1, 1, 0])
        let fresh = try await h.pool.withConnection { conn in
            try await InboxRepository.record(
                consumer: "planrouter-classifier", [entry("e-60d"), entry("e-44d"), entry("e-1d")], now: Self.now, on: conn)
        }
        // Inside the retention: still a duplicate. Past it: recorded again (the documented trade-off).
        #expect(fresh.map(\.id).sorted() == ["e-60d"])
        await h.close()
    }

    @Test func onlyReleasedHoldsAndFinishedTimersPastTheirAgeGo() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.pool.withConnection { conn in
            try await conn.simpleQuery(
                """
                INSERT INTO organizations (id) VALUES ('org-1');
                INSERT INTO locations (organization_id, id, time_zone) VALUES ('org-1', 'loc-12', 'America/New_York');
                INSERT INTO reservations (organization_id, location_id, provider_id, operatory_id, during, operatory_during, kind, active,
                                          plan_id, created_at, released_at, release_reason)
                SELECT 'org-1', 'loc-12', 'prov-3', NULL, tstzrange(v.start, v.start + interval '1 hour'),
                       tstzrange(v.start, v.start + interval '1 hour'), v.kind, v.active, v.plan, v.start - interval '1 day', v.released,
                       CASE WHEN v.released IS NOT NULL THEN 'expired' END
                FROM (VALUES ('old-released', 'hold', false, '2026-09-01T14:00:00Z'::timestamptz, '2026-09-02T00:00:00Z'::timestamptz),
                             ('old-active', 'hold', true, '2026-09-03T14:00:00Z', NULL),
                             ('recent-released', 'hold', false, '2026-11-20T14:00:00Z', '2026-11-21T00:00:00Z'),
                             ('old-booking', 'booking', true, '2026-09-04T14:00:00Z', NULL),
                             ('old-blockout', 'hold', false, '2026-09-05T14:00:00Z', '2026-09-06T00:00:00Z'),
                             ('old-deposit', 'hold', false, '2026-09-07T14:00:00Z', '2026-09-08T00:00:00Z'))
                     AS v(plan, kind, active, start, released);
                INSERT INTO pms_hold_blockouts (organization_id, reservation_id, connector, office_id, location_id, status, created_at, updated_at)
                SELECT 'org-1', id, 'opendental', 'office-1', 'loc-12', 'created', created_at, created_at FROM reservations
                WHERE plan_id = 'old-blockout';
                INSERT INTO deposits (organization_id, deposit_id, plan_id, location_id, patient_id, policy, reservation_id, amount_cents,
                                      currency, due_by, next_attempt_at, requested_at)
                SELECT 'org-1', 'dep-1', 'old-deposit', 'loc-12', 'pat-1', 'deposit_to_confirm', id, 50000, 'usd', now(), now(), now()
                FROM reservations WHERE plan_id = 'old-deposit';
                INSERT INTO timers (organization_id, plan_id, location_id, kind, due_at, status, created_at, fired_at)
                VALUES ('org-1', 'p-pending', 'loc-12', 'ladder', '2026-09-01T00:00:00Z', 'pending', '2026-09-01T00:00:00Z', NULL),
                       ('org-1', 'p-done', 'loc-12', 'ladder', '2026-09-01T00:00:00Z', 'done', '2026-09-01T00:00:00Z', '2026-09-01T00:00:00Z'),
                       ('org-1', 'p-cancelled', 'loc-12', 'ladder', '2026-09-01T00:00:00Z', 'cancelled', '2026-09-01T00:00:00Z', NULL),
                       ('org-1', 'p-recent', 'loc-12', 'ladder', '2026-11-25T00:00:00Z', 'done', '2026-11-25T00:00:00Z', '2026-11-25T00:00:00Z');
                """)
        }
        let cutoff = Self.daysAgo(30)
        let (holds, timers) = try await h.pool.withConnection { conn in
            let r = try #require(try await OperationalRetentionRepository.idBounds(of: .reservations, on: conn))
            let t = try #require(try await OperationalRetentionRepository.idBounds(of: .timers, on: conn))
            // Id ranges of two, as the command walks them with --batch.
            var holds = 0
            for lo in stride(from: r.lowerBound, through: r.upperBound, by: 2) {
                holds += try await OperationalRetentionRepository.pruneReleasedHolds(
                    ids: lo...min(lo + 1, r.upperBound), releasedBefore: cutoff, on: conn)
            }
            let timers = try await OperationalRetentionRepository.pruneFinishedTimers(ids: t, createdBefore: cutoff, on: conn)
            return (holds, timers)
        }
        #expect(holds == 1 && timers == 2)
        let left = try await h.pool.withConnection { conn in
            try await conn.query("SELECT plan_id FROM reservations ORDER BY plan_id").map { try $0.decode(0, as: String.self) }
        }
        #expect(left == ["old-active", "old-blockout", "old-booking", "old-deposit", "recent-released"])
        #expect(try await h.count("SELECT count(*) FROM timers WHERE plan_id IN ('p-pending', 'p-recent')") == 2)
        #expect(try await h.count("SELECT count(*) FROM timers") == 2)
        await h.close()
    }
}
