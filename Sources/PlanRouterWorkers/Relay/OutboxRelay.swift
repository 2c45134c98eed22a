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
    public init(
        batchSize: Int = 2000, idleWait: Duration = .milliseconds(500), retention: Duration = .seconds(24 * 3600),
        topics: [String] = TopicNames().all
    ) {
        self.batchSize = batchSize
        self.idleWait = idleWait
        self.retention = retention
        self.topics = topics
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

    /// Attempts before a row the broker refuses for good is set aside.
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
            logger.notice("topic metadata not loaded ahead; the first message of each topic will look it up", metadata: ["error": "\(error)"])
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
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if owned.count < OutboxRecord.shardCount { owned = try await acquireShards(conn, owned: owned) }
            let published = try await publishOnce(conn, shards: owned, backoff: &sendBackoff)
            if ContinuousClock.now - lastCleanup > settings.cleanupInterval {
                try await cleanup(conn)
                lastCleanup = ContinuousClock.now
            }
            if published < settings.batchSize {
                // Caught up: sleep until a writer commits (NOTIFY) or the idle wait ends.
                _ = try await conn.waitForNotification(timeout: published == 0 ? settings.idleWait : .milliseconds(1))
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

    /// Publishes one batch of pending rows of the owned shards; returns how many were published.
    func publishOnce(_ conn: PostgresConnection, shards: [Int32], backoff: inout Backoff) async throws -> Int {
        guard !shards.isEmpty else { return 0 }
        let rows = try await OutboxRepository.pending(shards: shards, limit: settings.batchSize, on: conn)
        guard !rows.isEmpty else { return 0 }
        var ids: [Int64] = []
        var messages: [KafkaOutgoingMessage] = []
        ids.reserveCapacity(rows.count)
        messages.reserveCapacity(rows.count)
        for r in rows {
            ids.append(r.id)
            messages.append(KafkaOutgoingMessage(topic: r.topic, key: r.key, value: r.payload, headers: OutboxRelay.kafkaHeaders(r.headersJSON)))
        }
        let results = await producer.sendBatch(messages)
        var done: [Int64] = []
        var refused: [(id: Int64, error: KafkaError)] = []
        var failure: KafkaError?
        for (id, result) in zip(ids, results) {
            switch result {
            case .success: done.append(id)
            case .failure(let e):
                failure = failure ?? e
                if !e.isRetriable && !e.isFatal { refused.append((id, e)) }
            }
        }
        let now = try await clock.now()
        if !done.isEmpty {
            try await OutboxRepository.markPublished(done, now: now, on: conn)
            stats.recordPublished(done.count)
        }
        if !refused.isEmpty {
            // Refused for good: after a few attempts the row is set aside so the shard moves on.
            try await OutboxRepository.recordRefused(
                refused.map(\.id), errors: refused.map { String($0.error.description.prefix(500)) }, maximumAttempts: OutboxRelay.maximumAttempts,
                now: now, on: conn)
            stats.recordError("kafka_refused", count: refused.count)
            logger.error("the broker refused outbox rows", metadata: ["count": "\(refused.count)", "error": "\(refused[0].error)"])
        }
        if let failure {
            if failure.isFatal { throw failure }
            stats.recordError("kafka_delivery")
            let d = backoff.next()
            logger.warning("publishing failed; retrying", metadata: ["error": "\(failure)", "failed": "\(ids.count - done.count)"])
            try await Task.sleep(for: d)
        } else {
            backoff.reset()
        }
        return done.count
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

/// Relay counters.
public final class RelayStats: Sendable {
    private let totals = Mutex((published: 0, running: false))
    private let publishedMetric: CoreMetrics.Counter?
    private let errorMetric: LabelledCounters

    public init(telemetry: WorkerTelemetry? = nil) {
        publishedMetric = telemetry?.counter("planrouter_outbox_published_total", help: "Outbox rows published and acknowledged by the brokers.")
        errorMetric = .errors(telemetry)
    }
    func recordPublished(_ n: Int) {
        totals.withLock { $0.published += n }
        publishedMetric?.increment(by: Int64(n))
    }
    /// `database_transient` (reconnects), `kafka_delivery` (a batch retried), `kafka_refused` (rows refused for good).
    func recordError(_ kind: String, count: Int = 1) { errorMetric.increment(kind, by: count) }
    func setRunning(_ running: Bool) { totals.withLock { $0.running = running } }
    public var published: Int { totals.withLock { $0.published } }
    public var isRunning: Bool { totals.withLock { $0.running } }
}
