import CoreMetrics
import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import ServiceLifecycle
import Synchronization

public struct RelaySettings: Sendable {
    /// Rows published per round trip.
    public var batchSize: Int = 2000
    /// Longest sleep when idle; a NOTIFY from a committing writer wakes the relay sooner.
    public var idleWait: Duration = .milliseconds(500)
    /// Published rows are deleted after this long.
    public var retention: Duration = .seconds(24 * 3600)
    public var cleanupInterval: Duration = .seconds(60)
    /// Topics whose metadata is loaded at start (the outbox may name any of them).
    public var topics: [String]
    /// A topic the cluster refuses with an error that needs an operator (authorization,
    /// unknown topic) is paused this long, doubling with each refusal in a row up to
    /// `topicPauseMax`; its rows stay pending and are tried again after each pause.
    public var topicPause: Duration = .seconds(5)
    public var topicPauseMax: Duration = .seconds(300)
    public init(
        batchSize: Int = 2000, idleWait: Duration = .milliseconds(500), retention: Duration = .seconds(24 * 3600),
        topics: [String] = TopicNames().all, topicPause: Duration = .seconds(5), topicPauseMax: Duration = .seconds(300)
    ) {
        self.batchSize = batchSize
        self.idleWait = idleWait
        self.retention = retention
        self.topics = topics
        self.topicPause = topicPause
        self.topicPauseMax = max(topicPause, topicPauseMax)
    }
}

/// Publishes the outbox to Kafka with the idempotent producer.
///
/// Rows are hashed by key into shards; a relay owns a shard while it holds that
/// shard's session advisory lock, so several relays never publish one row twice in
/// normal operation and each key is published in id (commit) order. A row is marked
/// published only after its delivery report; a crash between the two republishes
/// it, which downstream consumers absorb by event id. Rows are selected by
/// `published_at IS NULL`, never by "id above the last one seen", so a row whose
/// transaction committed late is never skipped.
public final class OutboxRelay: Service {
    let conninfo: String
    let producer: KafkaProducer
    let clock: any PlanRouterClock
    let settings: RelaySettings
    let logger: Logger
    public let stats: RelayStats

    /// Attempts before a row the broker refuses for good (a permanent error) is set aside.
    static let maximumAttempts = 3

    /// librdkafka's own client-side size limit, raised so the broker's topic limit is
    /// the one that decides (a dead letter is as large as the original plus headers).
    /// `linger.ms=0`: the relay hands librdkafka a whole batch at once, so waiting for
    /// more only adds latency to every hop through the outbox.
    public static let producerDefaults = ["message.max.bytes": "10485760", "linger.ms": "0"]

    /// The first key of the two-key advisory lock form; the shard is the second.
    static let lockClass: Int32 = 0x706C_7279  // "plry"

    public init(
        conninfo: String, producer: KafkaProducer, clock: any PlanRouterClock, settings: RelaySettings = .init(),
        telemetry: WorkerTelemetry? = nil, logger: Logger
    ) {
        self.stats = RelayStats(telemetry: telemetry)
        self.conninfo = conninfo
        self.producer = producer
        self.clock = clock
        self.settings = settings
        var l = logger
        l[metadataKey: "worker"] = "relay"
        self.logger = l
    }

    public func run() async throws {
        logger.info("relay started")
        stats.setRunning(true)
        defer { stats.setRunning(false) }
        // Best effort: without it the first row of each topic waits for its own metadata lookup.
        do { try await producer.loadMetadata(topics: settings.topics, timeout: .seconds(5)) } catch {
            logger.notice(
                "topic metadata not loaded ahead; the first message of each topic will look it up", metadata: ["error": "\(error)"])
        }
        var backoff = Backoff()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let conn = try await PostgresConnection.connect(conninfo, logger: logger)
                defer { conn.close() }
                try await conn.listen(OutboxBatch.notifyChannel)
                backoff.reset()
                try await loop(conn)
            } catch let e as PostgresError where e.isRetriable {
                stats.recordError("database_transient")
                let d = backoff.next()
                logger.warning("relay lost its database connection; reconnecting", metadata: ["error": "\(e)"])
                try? await Task.sleep(for: d)
            } catch is CancellationError {
                break
            }
        }
        await producer.close()
        logger.info("relay stopped")
    }

    func loop(_ conn: PostgresConnection) async throws {
        var owned: [Int32] = []
        var lastCleanup = ContinuousClock.now
        var sendBackoff = Backoff()
        var pauses = TopicPauses(initial: settings.topicPause, maximum: settings.topicPauseMax)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if owned.count < OutboxRecord.shardCount { owned = try await acquireShards(conn, owned: owned) }
            let pass = try await publishOnce(conn, shards: owned, backoff: &sendBackoff, pauses: &pauses)
            if ContinuousClock.now - lastCleanup > settings.cleanupInterval {
                try await cleanup(conn)
                lastCleanup = ContinuousClock.now
            }
            if pass.published < settings.batchSize {
                // Caught up (or nothing published): sleep until a writer commits (NOTIFY) or the
                // idle wait ends. Every writer notifies when it commits, and a notification that
                // came while this pass ran ends the wait at once, so after a pass that published
                // all it read there is nothing to look for before the next one (looking again
                // after 1 ms found nothing in about a third of the passes at 200 acceptances/s:
                // one statement each). A pass that left rows behind after an error, having backed
                // off already, looks again after 1 ms.
                let wait = pass.published == 0 || pass.caughtUp ? settings.idleWait : .milliseconds(1)
                _ = try await conn.waitForNotification(timeout: wait)
                while try await conn.waitForNotification(timeout: .zero) != nil {}
            }
        }
    }

    /// Takes every shard no other relay holds (non-blocking); owned shards stay owned.
    func acquireShards(_ conn: PostgresConnection, owned: [Int32]) async throws -> [Int32] {
        let wanted = (0..<Int32(OutboxRecord.shardCount)).filter { !owned.contains($0) }
        var now = owned
        now += try await OutboxRepository.tryLockShards(wanted, lockClass: OutboxRelay.lockClass, on: conn)
        if now.count != owned.count { logger.info("relay owns shards", metadata: ["shards": "\(now.sorted())"]) }
        return now.sorted()
    }

    /// Publishes one batch of pending rows of the owned shards; returns how many were published
    /// and whether that was all there was.
    ///
    /// What happens to a row the broker did not take depends on the error's class
    /// (`KafkaError.category`): retriable — it stays pending and the relay backs off;
    /// needs an operator (authorization, unknown topic) — it stays pending, its topic
    /// is paused with a growing pause and the reason is noted on the row, other topics
    /// carry on; permanent (too large, invalid record) — `attempts + 1`, and after
    /// `maximumAttempts` it is set aside (`failed_at`) so its shard moves on; fatal —
    /// the relay stops.
    func publishOnce(
        _ conn: PostgresConnection, shards: [Int32], backoff: inout Backoff, pauses: inout TopicPauses
    ) async throws -> RelayPass {
        guard !shards.isEmpty else { return RelayPass(published: 0, caughtUp: true) }
        let (paused, resumed) = pauses.active(at: .now)
        stats.setPausedTopics(paused.count)
        if !resumed.isEmpty {
            // librdkafka keeps a topic's error from the last metadata answer for a while;
            // look the topics up again so the next send reaches the broker.
            try? await producer.loadMetadata(topics: resumed, timeout: .seconds(5))
        }
        let rows = try await OutboxRepository.pending(shards: shards, pausedTopics: paused, limit: settings.batchSize, on: conn)
        guard !rows.isEmpty else { return RelayPass(published: 0, caughtUp: true) }
        let messages = rows.map { r in
            KafkaOutgoingMessage(topic: r.topic, key: r.key, value: r.payload, headers: OutboxRelay.kafkaHeaders(r.headersJSON))
        }
        let results = await producer.sendBatch(messages)
        var done: [Int64] = []
        var deliveredTopics = Set<String>()
        var refused: [(id: Int64, error: KafkaError)] = []
        var held: [String: (ids: [Int64], error: KafkaError)] = [:]
        var failure: KafkaError?
        for (row, result) in zip(rows, results) {
            switch result {
            case .success:
                done.append(row.id)
                deliveredTopics.insert(row.topic)
            case .failure(let e):
                switch e.category {
                case .fatal: throw e
                case .permanent:
                    refused.append((row.id, e))
                    failure = failure ?? e
                case .needsOperator: held[row.topic, default: ([], e)].ids.append(row.id)
                default: failure = failure ?? e
                }
            }
        }
        let now = try await clock.now()
        if !done.isEmpty {
            try await OutboxRepository.markPublished(done, now: now, on: conn)
            stats.recordPublished(done.count)
        }
        for topic in deliveredTopics where held[topic] == nil { pauses.clear(topic) }
        if !refused.isEmpty {
            // Refused for good: after a few attempts the row is set aside so the shard moves on.
            try await OutboxRepository.recordRefused(
                refused.map(\.id), errors: refused.map { String($0.error.description.prefix(500)) },
                maximumAttempts: OutboxRelay.maximumAttempts,
                now: now, on: conn)
            stats.recordError("kafka_refused", count: refused.count)
            logger.error(
                "the broker refused outbox rows with a permanent error; a row is set aside after \(OutboxRelay.maximumAttempts) attempts",
                metadata: ["count": "\(refused.count)", "error": "\(refused[0].error)"])
        }
        for (topic, h) in held.sorted(by: { $0.key < $1.key }) {
            let pause = pauses.pause(topic, at: .now)
            try await OutboxRetryRepository.noteRefusal(ids: h.ids, error: h.error.description, on: conn)
            stats.recordError("kafka_needs_operator", count: h.ids.count)
            logger.error(
                "the cluster refused a topic; its rows stay pending and publishing to it is paused",
                metadata: ["topic": "\(topic)", "rows": "\(h.ids.count)", "error": "\(h.error)", "retry_in": "\(pause)"])
        }
        if !held.isEmpty { stats.setPausedTopics(pauses.count(at: .now)) }
        if let failure {
            stats.recordError("kafka_delivery")
            let d = backoff.next()
            logger.warning("publishing failed; retrying", metadata: ["error": "\(failure)", "failed": "\(rows.count - done.count)"])
            try await Task.sleep(for: d)
        } else {
            backoff.reset()
        }
        return RelayPass(published: done.count, caughtUp: rows.count < settings.batchSize && done.count == rows.count)
    }

    /// What one pass did: rows published, and whether it published every pending row it could
    /// see (fewer than a batch, none left behind by an error).
    struct RelayPass {
        var published: Int
        var caughtUp: Bool
    }

    /// Deletes published rows past the retention period, a bounded number per statement.
    func cleanup(_ conn: PostgresConnection) async throws {
        let cutoff = try await clock.now().addingTimeInterval(-Double(settings.retention.components.seconds))
        var total = 0
        while true {
            let n = try await OutboxRepository.deletePublished(before: cutoff, limit: 10000, on: conn)
            total += n
            if n < 10000 { break }
        }
        if total > 0 { logger.debug("outbox cleanup", metadata: ["deleted": "\(total)"]) }
    }

    static func kafkaHeaders(_ json: String) -> [KafkaHeader] {
        guard let o = (try? JSONParser.parse(json))?.objectValue else { return [] }
        return o.compactMap { k, v in v.stringValue.map { KafkaHeader(key: k, value: Array($0.utf8)) } }
    }
}

/// Topics the relay does not publish to for a while because the cluster refused them
/// with an error that needs an operator; each refusal in a row doubles the pause (with
/// jitter) up to the maximum, a delivery to the topic ends the series.
struct TopicPauses {
    private var until: [String: ContinuousClock.Instant] = [:]
    private var backoffs: [String: Backoff] = [:]
    let initial: Duration
    let maximum: Duration

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The topics paused at `now`, sorted, and those whose pause ended since the last call.
    mutating func active(at now: ContinuousClock.Instant) -> (paused: [String], resumed: [String]) {
        let resumed = until.filter { $0.value <= now }.keys.sorted()
        until = until.filter { $0.value > now }
        return (until.keys.sorted(), resumed)
    }

    /// How many topics are paused at `now`.
    func count(at now: ContinuousClock.Instant) -> Int { until.values.filter { $0 > now }.count }

    /// Pauses `topic` once more; returns for how long.
    mutating func pause(_ topic: String, at now: ContinuousClock.Instant) -> Duration {
        var b = backoffs[topic] ?? Backoff(initial: initial, maximum: maximum)
        let d = b.next()
        backoffs[topic] = b
        until[topic] = now + d
        return d
    }

    mutating func clear(_ topic: String) {
        until[topic] = nil
        backoffs[topic] = nil
    }
}

/// Relay counters.
public final class RelayStats: Sendable {
    private let totals = Mutex((published: 0, running: false, pausedTopics: 0))
    private let publishedMetric: CoreMetrics.Counter?
    private let pausedMetric: Recorder?
    private let errorMetric: LabelledCounters

    public init(telemetry: WorkerTelemetry? = nil) {
        publishedMetric = telemetry?.counter(
            "planrouter_outbox_published_total", help: "Outbox rows published and acknowledged by the brokers.")
        pausedMetric = telemetry?.gauge(
            "planrouter_outbox_paused_topics",
            help: "Topics this relay does not publish to for now: the cluster refused them (authorization, unknown topic).")
        errorMetric = .errors(telemetry)
    }
    func setPausedTopics(_ n: Int) {
        totals.withLock { $0.pausedTopics = n }
        pausedMetric?.record(n)
    }
    /// Topics paused after a refusal that needs an operator.
    public var pausedTopics: Int { totals.withLock { $0.pausedTopics } }
    func recordPublished(_ n: Int) {
        totals.withLock { $0.published += n }
        publishedMetric?.increment(by: Int64(n))
    }
    /// `database_transient` (reconnects), `kafka_delivery` (a batch retried), `kafka_refused` (rows refused for good),
    /// `kafka_needs_operator` (rows of a topic the cluster refused; kept pending).
    func recordError(_ kind: String, count: Int = 1) { errorMetric.increment(kind, by: count) }
    func setRunning(_ running: Bool) { totals.withLock { $0.running = running } }
    public var published: Int { totals.withLock { $0.published } }
    public var isRunning: Bool { totals.withLock { $0.running } }
}
