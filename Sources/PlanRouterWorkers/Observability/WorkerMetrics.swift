import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The Prometheus text (exposition format 0.0.4) of one worker process, written by
/// hand: in-process counters of its loops plus a few gauges read from PostgreSQL at
/// scrape time (outbox backlog for the relay, first offers for the offer worker).
public struct WorkerMetrics: Sendable {
    public var kind: String
    public var probes: [WorkerProbe]
    public var pool: PostgresPool
    public var clock: any PlanRouterClock
    /// Bound on each scrape-time query.
    public var queryTimeout: Duration = .seconds(2)

    public init(kind: String, probes: [WorkerProbe], pool: PostgresPool, clock: any PlanRouterClock) {
        self.kind = kind
        self.probes = probes
        self.pool = pool
        self.clock = clock
    }

    /// Whether every loop of the process is running.
    public var loopsRunning: Bool { probes.allSatisfy(\.isRunning) }

    public func databaseAnswers(timeout: Duration = .seconds(2)) async -> Bool {
        let pool = self.pool
        return await withDeadline(timeout) { try await pool.withConnection { try await $0.query("SELECT 1").count == 1 } } ?? false
    }

    public func text() async -> String {
        var out = PrometheusText(worker: kind)
        out.gauge("planrouter_worker_up", "1 while every loop of the worker process runs.", [([:], loopsRunning ? 1 : 0)])
        var consumed: [String: Int] = [:], letters: [String: Int] = [:], errors: [String: Int] = [:]
        var applied = 0, deduplicated = 0, deadLettered = 0, batches = 0, retries = 0
        var lastBatch: Double?
        var sawConsumer = false
        for probe in probes {
            switch probe {
            case .consumer(let s):
                sawConsumer = true
                consumed.merge(s.consumed, uniquingKeysWith: +)
                letters.merge(s.deadLetteredByTopic, uniquingKeysWith: +)
                errors.merge(s.errors, uniquingKeysWith: +)
                applied += s.applied
                deduplicated += s.deduplicated
                deadLettered += s.deadLettered
                batches += s.batches
                retries += s.retries
                let d = s.lastBatchDuration.components
                lastBatch = max(lastBatch ?? 0, Double(d.seconds) + Double(d.attoseconds) / 1e18)
            case .relay(let s): errors.merge(s.errors, uniquingKeysWith: +)
            case .timers(let s): errors.merge(s.errors, uniquingKeysWith: +)
            case .offers: break
            }
        }
        if sawConsumer {
            out.counter("planrouter_events_consumed_total", "Messages polled from Kafka, by topic.", consumed.sorted { $0.key < $1.key }.map { (["topic": $0.key], Double($0.value)) })
            out.counter("planrouter_events_applied_total", "New events applied to PostgreSQL.", [([:], Double(applied))])
            out.counter("planrouter_events_deduplicated_total", "Events skipped because the inbox had already seen their id.", [([:], Double(deduplicated))])
            out.counter("planrouter_events_dead_lettered_total", "Events sent to the dead-letter topic (all topics).", [([:], Double(deadLettered))])
            out.counter(
                "planrouter_events_dead_lettered_by_topic_total", "Events sent to the dead-letter topic, by the topic they came from.",
                letters.sorted { $0.key < $1.key }.map { (["topic": $0.key], Double($0.value)) })
            out.counter("planrouter_batches_total", "Batches applied in one PostgreSQL transaction each.", [([:], Double(batches))])
            out.gauge("planrouter_batch_duration_seconds", "Duration of the last applied batch, retries included.", [([:], lastBatch ?? 0)])
            out.counter("planrouter_retries_total", "Transient failures retried with backoff.", [([:], Double(retries))])
        }
        out.counter(
            "planrouter_errors_total", "Failures the worker survived, by kind (database_transient, database_refused, kafka_commit, kafka_delivery, kafka_refused).",
            errors.sorted { $0.key < $1.key }.map { (["kind": $0.key], Double($0.value)) })
        for probe in probes {
            switch probe {
            case .relay(let s): await relayMetrics(s, into: &out)
            case .timers(let s): timerMetrics(s, into: &out)
            case .offers: await offerMetrics(into: &out)
            case .consumer: break
            }
        }
        return out.text
    }

    func relayMetrics(_ s: RelayStats, into out: inout PrometheusText) async {
        out.counter("planrouter_outbox_published_total", "Outbox rows published and acknowledged by the brokers.", [([:], Double(s.published))])
        let pool = self.pool, clock = self.clock
        let read = await withDeadline(queryTimeout) { () -> (OutboxBacklog, Date) in
            let backlog = try await pool.withConnection { try await OutboxBacklog.read(on: $0) }
            return (backlog, try await clock.now())
        }
        out.gauge("planrouter_outbox_query_up", "1 when the scrape-time outbox query answered within its bound.", [([:], read == nil ? 0 : 1)])
        guard let read else { return }
        let (backlog, now) = read
        out.gauge("planrouter_outbox_pending", "Outbox rows waiting to be published.", [([:], Double(backlog.pending))])
        out.gauge(
            "planrouter_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when none).",
            [([:], backlog.oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)])
        out.gauge("planrouter_outbox_failed", "Outbox rows set aside because the broker refused them for good (see last_error).", [([:], Double(backlog.failed))])
    }

    func timerMetrics(_ s: TimerStats, into out: inout PrometheusText) {
        out.counter("planrouter_timers_fired_total", "Escalation timers fired (nudges and coordinator tasks).", [([:], Double(s.fired))])
        let recent = s.lateness.sorted()
        func quantile(_ q: Double) -> Double {
            guard !recent.isEmpty else { return 0 }
            return recent[min(recent.count - 1, Int((Double(recent.count - 1) * q).rounded()))]
        }
        out.summary(
            "planrouter_timer_lateness_seconds", "Seconds between a timer's due time and its firing (quantiles over the latest 200,000 firings).",
            quantiles: [0.5, 0.9, 0.99].map { ($0, quantile($0)) }, sum: s.latenessSum, count: Double(s.fired))
    }

    func offerMetrics(into out: inout PrometheusText) async {
        let pool = self.pool
        let rows = await withDeadline(queryTimeout) { () -> [(String, Bool, Int)] in
            try await pool.withConnection { conn in
                try await conn.query(
                    """
                    SELECT coalesce(c.tier, 'unclassified'), o.sla_met, count(*)
                    FROM offers o
                    LEFT JOIN LATERAL (
                        SELECT tier FROM classifications c
                        WHERE c.organization_id = o.organization_id AND c.plan_id = o.plan_id ORDER BY c.id DESC LIMIT 1
                    ) c ON true
                    WHERE o.kind = 'initial'
                    GROUP BY 1, 2 ORDER BY 1, 2
                    """
                ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Bool.self), try $0.decode(2, as: Int.self)) }
            }
        }
        out.gauge("planrouter_offers_query_up", "1 when the scrape-time offers query answered within its bound.", [([:], rows == nil ? 0 : 1)])
        guard let rows else { return }
        out.gauge(
            "planrouter_first_offers", "First offers in the database, by tier and whether they met the tier's first-offer SLA.",
            rows.map { (["tier": $0.0, "sla": $0.1 ? "met" : "missed"], Double($0.2)) })
    }
}

/// A small writer of the Prometheus text format; every sample carries `worker`.
struct PrometheusText {
    let worker: String
    var text = ""

    init(worker: String) { self.worker = worker }

    mutating func counter(_ name: String, _ help: String, _ samples: [([String: String], Double)]) {
        family(name, help, "counter", samples)
    }
    mutating func gauge(_ name: String, _ help: String, _ samples: [([String: String], Double)]) {
        family(name, help, "gauge", samples)
    }
    mutating func summary(_ name: String, _ help: String, quantiles: [(Double, Double)], sum: Double, count: Double) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) summary\n"
        for (q, v) in quantiles { text += "\(name)\(labels(["quantile": Self.number(q)])) \(Self.number(v))\n" }
        text += "\(name)_sum\(labels([:])) \(Self.number(sum))\n\(name)_count\(labels([:])) \(Self.number(count))\n"
    }

    private mutating func family(_ name: String, _ help: String, _ type: String, _ samples: [([String: String], Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (l, v) in samples { text += "\(name)\(labels(l)) \(Self.number(v))\n" }
    }

    private func labels(_ extra: [String: String]) -> String {
        let all = [("worker", worker)] + extra.sorted { $0.key < $1.key }
        return "{" + all.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
