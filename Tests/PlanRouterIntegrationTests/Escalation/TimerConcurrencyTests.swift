import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Two escalation workers on the same due timers (issue 18, point 6): many cases,
/// nine timers each (three copies of a ladder: nudges that place holds, then the
/// coordinator task), all due at once, claimed in small batches so one case's timers
/// land in both workers, while bookings from the PMS close half of the cases. Against
/// the real PostgreSQL: no deadlock, and every timer fires exactly once or is cancelled.
/// (Without the ordered case locks this test saw 3 deadlocks.)
@Suite struct TimerConcurrencyTests {
    /// Counts what the loops saw.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var _deadlocks = 0
        private var _errors: [String] = []
        func deadlock() { lock.withLock { _deadlocks += 1 } }
        func error(_ e: any Error) { lock.withLock { _errors.append(String(describing: e)) } }
        var deadlocks: Int { lock.withLock { _deadlocks } }
        var errors: [String] { lock.withLock { _errors } }
    }

    @Test func twoWorkersOnTheSameDueTimersNeverDeadlockAndFireEachTimerOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let start = EscalationTests.accepted.addingTimeInterval(60)
        let setup = ManualClock(start)
        try await h.publishSchedule(events: [TestEvents.schedule(providers: [("prov-3", "dentist", ["op-1", "op-2", "op-3"])])])
        let plans = 24
        try await h.publish(events: (0..<plans).map { TestEvents.acceptedWith(plan: "case-\($0)", codes: [("D2740", 135_000)]) })
        let classifier = try h.classifier(clock: setup)
        let offer = try h.offer(clock: setup)
        let relay = try h.relay()
        let runs = [Running { try await classifier.run() }, Running { try await offer.run() }, Running { try await relay.run() }]
        try await eventually("every case routed", timeout: .seconds(60)) {
            try await h.count("SELECT count(*) FROM plans WHERE status IN ('offered', 'escalated')") == plans
        }
        for r in runs { await r.stop() }
        let offered = try await h.count("SELECT count(DISTINCT plan_id) FROM timers WHERE status = 'pending'")
        #expect(try await h.count("SELECT count(*) FROM timers WHERE status = 'pending'") == offered * 3)
        #expect(offered >= plans / 2, "\(offered) cases offered")
        // Two more copies of every ladder (as after a re-sent acceptance or a retried
        // offer), and the due times shuffled (all stay due): claims in due order then mix
        // the nudges and tasks of one case across the two workers' concurrent batches.
        _ = try await h.pool.withConnection { conn in
            _ = try await conn.execute(
                """
                INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
                SELECT organization_id, plan_id, location_id, kind, step, due_at, payload, created_at
                FROM timers, generate_series(1, 2) WHERE status = 'pending'
                """)
            _ = try await conn.execute("UPDATE timers SET due_at = due_at - random() * interval '2 hours' WHERE status = 'pending'")
        }
        let timers = try await h.count("SELECT count(*) FROM timers WHERE status = 'pending'")

        // Friday 09:30 in New York: every step of every ladder is due, the holds of the
        // first offers have expired, so the nudges place fresh ones.
        let clock = ManualClock(EscalationTests.accepted.addingTimeInterval(72 * 3600 + 60))
        let workers = (0..<2).map { i in
            EscalationWorker(
                conninfo: h.databaseURL, pool: h.pool, offers: OfferPlanner(settings: h.offerSettings), clock: clock,
                settings: EscalationSettings(batchSize: 4, lease: .seconds(60)), workerID: "w\(i)", logger: testLogger)
        }
        let tally = Tally()
        let deadline = ContinuousClock.now + .seconds(90)
        // Meanwhile the PMS books half of the cases (the lifecycle consumer of either
        // process): each closes its case, cancelling its pending timers and holds.
        let cases = try await h.pool.withConnection { conn in
            try await conn.query("SELECT DISTINCT plan_id FROM timers WHERE status = 'pending' ORDER BY 1").map {
                try $0.decode(0, as: String.self)
            }
        }
        let booked = cases.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).shuffled()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let lifecycle = LifecycleHandler(consumerName: "escalation")
                for plan in booked {
                    do {
                        _ = try await h.pool.withTransaction { tx in
                            try await lifecycle.close(
                                PlanKey(organizationID: "org-1", planID: plan), status: .booked, reason: "booked_in_pms", in: tx,
                                now: clock.now())
                        }
                    } catch let e as PostgresError where e.sqlState == "40P01" {
                        tally.deadlock()
                    } catch {
                        tally.error(error)
                    }
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 0...20)))
                }
            }
            for w in workers {
                group.addTask {
                    var idle = 0
                    while idle < 5, ContinuousClock.now < deadline {
                        do {
                            idle = try await w.fireOnce() == 0 ? idle + 1 : 0
                        } catch let e as PostgresError where e.sqlState == "40P01" {
                            tally.deadlock()
                        } catch {
                            tally.error(error)
                        }
                        if idle > 0 { try? await Task.sleep(for: .milliseconds(20)) }
                    }
                }
            }
        }
        #expect(tally.deadlocks == 0, "deadlocks: \(tally.deadlocks)")
        #expect(tally.errors.isEmpty, "\(tally.errors)")
        // Every timer fired exactly once, by one of the two workers, or was cancelled by a booking.
        let done = try await h.count("SELECT count(*) FROM timers WHERE status = 'done' AND fired_at IS NOT NULL")
        #expect(try await h.count("SELECT count(*) FROM timers WHERE status = 'pending'") == 0)
        #expect(done + (try await h.count("SELECT count(*) FROM timers WHERE status = 'cancelled'")) == timers)
        #expect(workers.map(\.stats.fired).reduce(0, +) == done)
        #expect(workers.allSatisfy { $0.stats.fired > 0 })
        #expect(try await h.count("SELECT count(*) FROM plans WHERE status = 'booked'") == booked.count)
        // No ladder ended with more than one coordinator task; those not booked ended with one.
        #expect(
            try await h.count(
                "SELECT count(*) FROM (SELECT plan_id FROM coordinator_tasks WHERE kind = 'escalation' GROUP BY 1 HAVING count(*) > 1) d")
                == 0)
        #expect(
            try await h.count(
                "SELECT count(DISTINCT t.plan_id) FROM timers t JOIN plans p USING (organization_id, plan_id) WHERE p.status = 'escalated'"
            ) == cases.count - booked.count)
        await h.close()
    }

    /// A firing that rolls back gives its leases back at once: the timers are due again
    /// now, not after the 60 s lease.
    @Test func aRolledBackFiringReleasesItsLeasesAtOnce() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let now = EscalationTests.accepted.addingTimeInterval(72 * 3600)
        try await h.pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-1')")
            _ = try await conn.execute("INSERT INTO locations (id, organization_id) VALUES ('loc-1', 'org-1')")
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source, total_fee_cents,
                                   patient, status, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', 'p1', 'loc-1', 'pat-1', 'prov-1', $1, 'chair', 1000, '{}', 'offered', 'test', 'e1', $1, $1)
                """, EscalationTests.accepted)
            _ = try await conn.execute(
                """
                INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                                             first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
                VALUES ('org-1', 'p1', 'loc-1', 'restorative', 'self_book', 60, 1000, 0, 1800, 172800, 0, '{}', $1, $1)
                """, EscalationTests.accepted)
            _ = try await conn.execute(
                """
                INSERT INTO timers (organization_id, plan_id, location_id, kind, step, due_at, payload, created_at)
                VALUES ('org-1', 'p1', 'loc-1', 'ladder', 3, $1, '{"action": "coordinator_task"}', $1)
                """, now)
            // The database refuses the firing's effect once.
            try await conn.simpleQuery(
                """
                CREATE TABLE test_fail_once (armed boolean NOT NULL);
                INSERT INTO test_fail_once VALUES (true);
                CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF (SELECT armed FROM test_fail_once) THEN RAISE EXCEPTION 'refused for the test' USING ERRCODE = '40001'; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER test_fail_once BEFORE INSERT ON coordinator_tasks FOR EACH ROW EXECUTE FUNCTION test_fail_once();
                """)
        }
        let clock = ManualClock(now.addingTimeInterval(60))
        let worker = EscalationWorker(
            conninfo: h.databaseURL, pool: h.pool, offers: OfferPlanner(settings: h.offerSettings), clock: clock,
            settings: EscalationSettings(lease: .seconds(60)), workerID: "w1", logger: testLogger)
        await #expect(throws: PostgresError.self) { try await worker.fireOnce() }
        #expect(
            try await h.count(
                "SELECT count(*) FROM timers WHERE status = 'pending' AND leased_by IS NULL AND leased_until IS NULL AND attempts = 1") == 1
        )
        _ = try await h.pool.withConnection { try await $0.execute("UPDATE test_fail_once SET armed = false") }
        // Same instant: no lease to wait out.
        #expect(try await worker.fireOnce() == 1)
        #expect(try await h.count("SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'p1' AND kind = 'escalation'") == 1)
        await h.close()
    }
}
