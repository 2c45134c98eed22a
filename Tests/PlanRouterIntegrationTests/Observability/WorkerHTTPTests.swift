import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterCore
import PlanRouterKafka
import PlanRouterTelemetry
import Testing

@testable import PlanRouterWorkers

/// `/healthz`, `/readyz` and `/metrics` of a worker process, against running workers.
@Suite struct WorkerHTTPTests {
    /// The value of one sample line `name{labels} value`, nil when the line is absent.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The values of every sample line starting with `prefix`.
    static func samples(_ text: String, _ prefix: String) -> [Double] {
        text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func countersMoveAfterEventsAreApplied() async throws {
        let h = try await PipelineHarness()
        try await h.publish(events: [TestEvents.accepted(plan: "p1"), TestEvents.accepted(plan: "p2")])
        try await h.publish([Array("not json".utf8)])
        let classifierTelemetry = WorkerTelemetry(worker: "classifier")
        let relayTelemetry = WorkerTelemetry(worker: "relay")
        let classifier = try h.classifier(telemetry: classifierTelemetry)
        let relay = try h.relay(telemetry: relayTelemetry)
        let classifierMetrics = WorkerMetrics(telemetry: classifierTelemetry, probes: [classifier.probe], pool: h.pool, clock: WallClock())
        let relayMetrics = WorkerMetrics(telemetry: relayTelemetry, probes: [.relay(relay.stats)], pool: h.pool, clock: WallClock())
        let accepted = h.topics[.planAccepted]

        try await Application(router: WorkerHTTPServer.router(classifierMetrics)).test(.router) { client in
            #expect(try await client.get("/healthz").status == .ok)
            // Not started yet: alive but not ready.
            #expect(try await client.get("/readyz").status == .serviceUnavailable)
            let before = try await client.get("/metrics")
            #expect(before.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            // Nothing applied yet: no series for the topic.
            #expect(Self.sample(before.text, "planrouter_events_applied_total{worker=\"classifier\",topic=\"\(accepted)\"}") == nil)
            #expect(Self.sample(before.text, "planrouter_worker_up{worker=\"classifier\"}") == 0)

            let run = Running { try await classifier.run() }
            try await eventually("three events consumed") { classifier.stats.applied + classifier.stats.deadLettered == 3 }
            #expect(try await client.get("/readyz").status == .ok)
            let after = try await client.get("/metrics").text
            let topic = "topic=\"\(accepted)\""
            #expect(Self.sample(after, "planrouter_events_applied_total{worker=\"classifier\",\(topic)}") == 2)
            #expect(Self.sample(after, "planrouter_events_dead_lettered_total{worker=\"classifier\",\(topic)}") == 1)
            #expect(Self.sample(after, "planrouter_events_consumed_total{worker=\"classifier\",\(topic)}") == 3)
            #expect(Self.sample(after, "planrouter_events_deduplicated_total{worker=\"classifier\",\(topic)}") == nil)
            let batches = Self.sample(after, "planrouter_batches_total{worker=\"classifier\"}") ?? 0
            #expect(batches >= 1)
            #expect(Self.sample(after, "planrouter_batch_size_count{worker=\"classifier\"}") == batches)
            #expect(Self.sample(after, "planrouter_batch_size_sum{worker=\"classifier\"}") == 3)
            #expect(Self.sample(after, "planrouter_batch_duration_seconds_count{worker=\"classifier\"}") == batches)
            #expect(Self.sample(after, "planrouter_worker_up{worker=\"classifier\"}") == 1)
            // Every message of every partition applied and marked done: no lag anywhere.
            let lags = Self.samples(after, "planrouter_consumer_lag{worker=\"classifier\",\(topic),partition=")
            #expect(!lags.isEmpty)
            #expect(lags.allSatisfy { $0 == 0 })
            await run.stop()
            #expect(try await client.get("/readyz").status == .serviceUnavailable)
        }

        // Two plan.classified events and one dead letter wait in the outbox until the relay runs.
        try await Application(router: WorkerHTTPServer.router(relayMetrics)).test(.router) { client in
            let waiting = try await client.get("/metrics").text
            #expect(Self.sample(waiting, "planrouter_outbox_pending{worker=\"relay\"}") == 3)
            #expect((Self.sample(waiting, "planrouter_outbox_oldest_age_seconds{worker=\"relay\"}") ?? -1) >= 0)
            #expect(Self.sample(waiting, "planrouter_outbox_query_up{worker=\"relay\"}") == 1)
            let run = Running { try await relay.run() }
            try await eventually("outbox published") { relay.stats.published == 3 }
            let done = try await client.get("/metrics").text
            #expect(Self.sample(done, "planrouter_outbox_published_total{worker=\"relay\"}") == 3)
            #expect(Self.sample(done, "planrouter_outbox_pending{worker=\"relay\"}") == 0)
            #expect(Self.sample(done, "planrouter_outbox_failed{worker=\"relay\"}") == 0)
            await run.stop()
        }
        await h.close()
    }

    @Test func offerAndTimerMetricsAreWellFormed() async throws {
        let h = try await PipelineHarness()
        let telemetry = WorkerTelemetry(worker: "escalation")
        let timers = TimerStats(telemetry: telemetry)
        let metrics = WorkerMetrics(telemetry: telemetry, probes: [.timers(timers), .offers], pool: h.pool, clock: WallClock())
        timers.record(fired: 2, lateness: [0.02, 7])
        let text = await metrics.text()
        #expect(Self.sample(text, "planrouter_offers_query_up{worker=\"escalation\"}") == 1)
        #expect(Self.sample(text, "planrouter_timers_query_up{worker=\"escalation\"}") == 1)
        #expect(Self.sample(text, "planrouter_timers_due{worker=\"escalation\"}") == 0)
        #expect(Self.sample(text, "planrouter_timers_fired_total{worker=\"escalation\"}") == 2)
        #expect(text.contains("# TYPE planrouter_timer_lateness_seconds histogram\n"))
        #expect(Self.sample(text, "planrouter_timer_lateness_seconds_count{worker=\"escalation\"}") == 2)
        #expect(Self.sample(text, "planrouter_timer_lateness_seconds_bucket{worker=\"escalation\",le=\"0.05\"}") == 1)
        #expect(Self.sample(text, "planrouter_timer_lateness_seconds_bucket{worker=\"escalation\",le=\"15.0\"}") == 2)
        // Every sample line is `name{labels} number`.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2 && Double(parts[1]) != nil, "bad sample line: \(line)")
        }
        await h.close()
    }
}
