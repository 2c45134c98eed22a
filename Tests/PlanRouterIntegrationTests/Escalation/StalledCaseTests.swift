import Foundation
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// The stalled-case watchdog (issue 18, point 2): a case stranded on purpose — its
/// plan.classified event refused for good by the broker, so the relay sets it aside —
/// gets exactly one coordinator task with the reason, published like every task, and
/// counted; `outbox retry` then lets the case flow to its offer.
@Suite struct StalledCaseTests {
    @Test func aStrandedCaseGetsOneTaskWithItsReasonAndFlowsAfterRetry() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let clock = ManualClock(EscalationTests.accepted.addingTimeInterval(60))
        try await h.publishSchedule(events: [TestEvents.schedule()])
        try await h.publish(events: [TestEvents.acceptedWith(plan: "stuck", codes: [("D2740", 135_000)])])
        let classifier = try h.classifier(clock: clock)
        let offer = try h.offer(clock: clock)
        var runs = [Running { try await classifier.run() }, Running { try await offer.run() }]
        try await eventually("classified") { try await h.count("SELECT count(*) FROM outbox WHERE topic = 'plan.classified'") == 1 }

        // The broker refuses the plan.classified event for good: the relay sets it aside.
        h.cluster.refuseProduce(.invalidRecord, times: OutboxRelay.maximumAttempts)
        let relay = try h.relay()
        runs.append(Running { try await relay.run() })
        try await eventually("set aside") { try await h.count("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL") == 1 }
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'stuck' AND status = 'accepted'") == 1)
        #expect(try await h.count("SELECT count(*) FROM offers") == 0)

        let telemetry = WorkerTelemetry(worker: "escalation")
        let watchdog = EscalationWorker(
            conninfo: h.databaseURL, pool: h.pool, offers: OfferPlanner(settings: h.offerSettings), clock: clock,
            settings: EscalationSettings(pollInterval: .milliseconds(100), stalledCaseAfter: .seconds(300)), telemetry: telemetry,
            logger: testLogger)
        // Within the bound (by the injected clock): nothing yet.
        #expect(try await watchdog.checkStalledCases() == 0)
        clock.advance(by: 301)
        #expect(try await watchdog.checkStalledCases() == 1)
        // One task per stalled case, not one per round.
        #expect(try await watchdog.checkStalledCases() == 0)
        #expect(try await watchdog.checkStalledCases() == 0)
        #expect(watchdog.stats.stalledTasksCreated == 1)
        #expect(watchdog.stats.stalledCases == 1)
        #expect(
            try await h.count(
                """
                SELECT count(*) FROM coordinator_tasks WHERE plan_id = 'stuck' AND kind = 'routing_stalled' AND status = 'open' AND urgent
                  AND reason LIKE '%set aside%' AND reason LIKE '%INVALID_RECORD%' AND context->'outbox'->>'topic' = 'plan.classified'
                """) == 1)
        #expect(try await h.count("SELECT count(*) FROM coordinator_tasks") == 1)
        #expect(try await h.count("SELECT count(*) FROM plan_events WHERE plan_id = 'stuck' AND kind = 'routing_stalled'") == 1)
        let text = telemetry.text()
        #expect(WorkerHTTPTests.sample(text, "planrouter_cases_stalled_total{worker=\"escalation\"}") == 1)
        #expect(WorkerHTTPTests.sample(text, "planrouter_cases_stalled{worker=\"escalation\"}") == 1)

        // Published like every task, valid against the coordinator.tasks schema.
        let tasks = try await h.consumeAll(topic: h.topics[.coordinatorTasks], expected: 1)
        #expect(tasks.count == 1)
        let task = try EventValidator.shared.decode(tasks[0].value)
        #expect(task.data["kind"] == "routing_stalled")
        #expect(task.data["plan_id"] == "stuck")

        // The operator retries the set-aside row: the case gets its offer.
        let retried = try await h.pool.withConnection { try await OutboxRetryRepository.retry(.topic(h.topics[.planClassified]), on: $0) }
        #expect(retried == 1)
        try await eventually("offered") {
            try await h.count("SELECT count(*) FROM offers WHERE plan_id = 'stuck' AND kind = 'initial'") == 1
        }
        #expect(try await h.count("SELECT count(*) FROM plans WHERE plan_id = 'stuck' AND status = 'offered'") == 1)
        // The next round sees the case moved on: no new task, the stalled one resolved.
        #expect(try await watchdog.checkStalledCases() == 0)
        #expect(watchdog.stats.stalledCases == 0)
        #expect(
            try await h.count(
                "SELECT count(*) FROM coordinator_tasks WHERE kind = 'routing_stalled' AND status = 'resolved' AND outcome = 'routing_resumed'"
            ) == 1)
        for r in runs { await r.stop() }
        await h.close()
    }

    /// With no event to blame: the reason says the plan was never classified.
    @Test func aPlanThatWasNeverClassifiedSaysSo() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let now = EscalationTests.accepted
        try await h.pool.withConnection { conn in
            _ = try await conn.execute("INSERT INTO organizations (id) VALUES ('org-1')")
            _ = try await conn.execute("INSERT INTO locations (id, organization_id) VALUES ('loc-1', 'org-1')")
            _ = try await conn.execute(
                """
                INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, accepted_at, acceptance_source, total_fee_cents,
                                   patient, source, source_event_id, received_at, updated_at)
                VALUES ('org-1', 'bare', 'loc-1', 'pat-1', 'prov-1', $1, 'chair', 1000, '{}', 'test', 'e1', $1, $1)
                """, now)
        }
        let clock = ManualClock(now.addingTimeInterval(3600))
        let watchdog = EscalationWorker(
            conninfo: h.databaseURL, pool: h.pool, offers: OfferPlanner(settings: h.offerSettings), clock: clock,
            settings: EscalationSettings(stalledCaseAfter: .seconds(300)), logger: testLogger)
        #expect(try await watchdog.checkStalledCases() == 1)
        #expect(
            try await h.count(
                "SELECT count(*) FROM coordinator_tasks WHERE reason LIKE '%never classified%' AND owner_id = 'location:loc-1'") == 1)
        #expect(try await h.count("SELECT count(*) FROM outbox WHERE topic = 'coordinator.tasks'") == 1)
        await h.close()
    }
}
