import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import ServiceLifecycle

/// Settings shared by every consuming worker.
public struct ConsumerSettings: Sendable {
    /// Most messages applied in one PostgreSQL transaction.
    public var batchSize: Int = 500
    /// How long one poll waits for the first message; also bounds shutdown latency.
    public var pollTimeout: Duration = .milliseconds(100)
    /// After committing a batch of at least this many events, free heap pages go back to the
    /// system (`malloc_trim`, ~1 ms): often enough to bound resident memory under a backlog,
    /// rare enough that a steady trickle of small batches never pays for it.
    public var trimHeapAfter: Int = 100
    public init(batchSize: Int = 500, pollTimeout: Duration = .milliseconds(100)) {
        self.batchSize = batchSize
        self.pollTimeout = pollTimeout
    }
}

/// The at-least-once loop every consuming worker runs:
/// poll a batch; in one transaction record event ids in the inbox (duplicates are
/// skipped), apply the new events, write dead letters and outgoing events to the
/// outbox; commit; only then mark the messages done and commit their offsets.
///
/// Transient failures are retried with backoff and never dead-lettered. A batch the
/// database refuses for a non-transient reason is split and retried event by event,
/// so one poison event ends in the DLQ and never blocks its partition.
public final class ConsumerWorker<Handler: EventHandler>: Service {
    let consumer: KafkaConsumer
    let pool: PostgresPool
    let handler: Handler
    let clock: any PlanRouterClock
    let settings: ConsumerSettings
    let validator: EventValidator
    /// Which types each consumed topic may carry; anything else is an `unexpected_type` dead letter.
    let topicTypes: [String: Set<EventType>]
    let logger: Logger
    public let stats: WorkerStats

    /// `telemetry`: where the loop's counters are recorded for `/metrics` (none by default).
    public init(
        consumer: KafkaConsumer, pool: PostgresPool, handler: Handler, clock: any PlanRouterClock,
        settings: ConsumerSettings = .init(), validator: EventValidator = .shared, telemetry: WorkerTelemetry? = nil, logger: Logger
    ) {
        self.stats = WorkerStats(telemetry: telemetry)
        self.consumer = consumer
        self.pool = pool
        self.handler = handler
        self.clock = clock
        self.settings = settings
        self.validator = validator
        self.topicTypes = handler.topicTypes
        var l = logger
        l[metadataKey: "worker"] = "\(handler.consumerName)"
        self.logger = l
    }

    /// What `/metrics` and `/readyz` read of this loop.
    public var probe: WorkerProbe {
        let consumer = self.consumer
        return .consumer(stats, lag: { await consumer.lag() })
    }

    public func run() async throws {
        logger.info("worker started")
        stats.setRunning(true)
        defer {
            stats.setRunning(false)
            logger.info("worker stopped")
        }
        do {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let messages = try await consumer.poll(maxMessages: settings.batchSize, timeout: settings.pollTimeout)
                guard !messages.isEmpty else { continue }
                stats.recordConsumed(messages.map(\.topic))
                // A shutdown that arrives mid-batch still lets this batch finish and commit.
                try await process(messages)
                consumer.markDone(messages)
                // Not waited for: the next poll need not wait for the group coordinator's answer.
                do { try await consumer.commitDone(waitForBroker: false) } catch {
                    stats.recordError("kafka_commit")
                    // Not fatal: the next commit covers these offsets; at worst they are redelivered and deduped.
                    logger.warning("offset commit failed", metadata: ["error": "\(error)"])
                }
                // A large batch (a backlog) grows the heap well past what the next one needs;
                // glibc would keep those pages, and they are most of a worker's resident memory
                // above its idle size (docs/benchmarks.md, "Resident memory").
                if messages.count >= min(settings.trimHeapAfter, settings.batchSize) { HeapTrim.returnFreePages() }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    /// Applies one polled batch, retrying transient failures until it commits.
    func process(_ messages: [KafkaMessage]) async throws {
        var backoff = Backoff()
        let started = ContinuousClock.now
        while true {
            do {
                try await applyInTransaction(messages)
                stats.recordBatch(size: messages.count, duration: ContinuousClock.now - started)
                return
            } catch let e as PostgresError where e.isRetriable {
                stats.recordError("database_transient")
                try await waitBeforeRetry(&backoff, error: e)
            } catch let e as PostgresError where e.isRefusal && messages.count > 1 {
                stats.recordError("database_refused")
                // A non-transient refusal: find the culprit by applying events one by one.
                logger.warning("batch refused; retrying event by event", metadata: ["error": "\(e)", "batch.size": "\(messages.count)"])
                for m in messages { try await process([m]) }
                return
            } catch let e as PostgresError where e.isRefusal {
                try await deadLetterAlone(messages[0], error: e, backoff: &backoff)
                return
            }
            // Any other PostgresError (pool closed, a client-side failure that is neither a
            // lost connection nor a server's answer) is not the event's fault: it propagates
            // and stops the worker, which commits nothing past this batch.
        }
    }

    func waitBeforeRetry(_ backoff: inout Backoff, error: any Error) async throws {
        let delay = backoff.next()
        stats.recordRetry()
        logger.warning(
            "transient failure; retrying",
            metadata: [
                "error": "\(error)",
                "retry.in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
            ])
        try await Task.sleep(for: delay)
    }

    /// An event the database refuses on its own goes to the DLQ with the SQLSTATE.
    func deadLetterAlone(_ message: KafkaMessage, error: PostgresError, backoff: inout Backoff) async throws {
        let letter = DeadLetter(
            message: message, kind: "rejected_by_database", reason: "database refused the event: \(error.refusalReason)")
        while true {
            do {
                let now = try await clock.now()
                try await pool.withTransaction { tx in
                    var outbox = OutboxBatch()
                    try await self.recordDeadLetters([letter], outbox: &outbox, in: tx, now: now)
                    try await outbox.insert(on: tx, now: now)
                }
                stats.record(applied: [:], deduplicated: [:], deadLettered: [message.topic: 1])
                return
            } catch let e as PostgresError where e.isRetriable {
                stats.recordError("database_transient")
                try await waitBeforeRetry(&backoff, error: e)
            }
        }
    }

    func applyInTransaction(_ messages: [KafkaMessage]) async throws {
        // Parse and validate outside the transaction: pure CPU work.
        var valid: [IncomingEvent] = []
        var letters: [DeadLetter] = []
        valid.reserveCapacity(messages.count)
        for m in messages {
            do {
                let e = try validator.decode(m.value, expecting: topicTypes[m.topic] ?? [], topic: m.topic)
                valid.append(IncomingEvent(event: e, message: m))
            } catch {
                letters.append(DeadLetter(message: m, kind: error.kind.rawValue, reason: error.reason))
            }
        }
        let now = try await clock.now()
        let consumerName = handler.consumerName
        let (applied, skipped, refused) = try await pool.withTransaction { tx -> ([String: Int], [String: Int], [String: Int]) in
            var seen = Set<Inbox.Key>()
            var unique: [IncomingEvent] = []
            for e in valid where seen.insert(Inbox.Key(source: e.event.source, id: e.event.id)).inserted { unique.append(e) }
            let fresh = try await Inbox.record(
                consumer: consumerName,
                unique.map {
                    (Inbox.Key(source: $0.event.source, id: $0.event.id), $0.message.topic, $0.message.partition, $0.message.offset)
                },
                in: tx, now: now)
            let newEvents = unique.filter { fresh.contains(Inbox.Key(source: $0.event.source, id: $0.event.id)) }
            var outbox = OutboxBatch()
            let refusedByHandler = try await self.handler.apply(newEvents, in: tx, outbox: &outbox, now: now, logger: self.logger)
            let allLetters = letters + refusedByHandler
            try await self.recordDeadLetters(allLetters, outbox: &outbox, in: tx, now: now)
            try await outbox.insert(on: tx, now: now)
            // Deduplicated: valid events that are not new (seen before, or twice in this batch).
            let new = Self.countByTopic(newEvents.map(\.message))
            let skipped = Self.countByTopic(valid.map(\.message)).merging(new.mapValues { -$0 }, uniquingKeysWith: +).filter {
                $0.value > 0
            }
            var applied = new
            for letter in refusedByHandler { applied[letter.message.topic, default: 0] -= 1 }
            return (applied, skipped, Self.countByTopic(allLetters.map(\.message)))
        }
        stats.record(applied: applied, deduplicated: skipped, deadLettered: refused)
        let refusedCount = refused.values.reduce(0, +)
        if refusedCount > 0 { logger.notice("dead-lettered events", metadata: ["count": "\(refusedCount)"]) }
    }

    static func countByTopic(_ messages: [KafkaMessage]) -> [String: Int] {
        Dictionary(messages.map { ($0.topic, 1) }, uniquingKeysWith: +)
    }

    /// Dead letters are deduplicated by their Kafka position, so a redelivered poison
    /// message does not produce a second DLQ record.
    func recordDeadLetters(_ letters: [DeadLetter], outbox: inout OutboxBatch, in tx: PostgresConnection, now: Date) async throws {
        guard !letters.isEmpty else { return }
        let entries = letters.map {
            (
                key: Inbox.Key(source: "dlq:\($0.message.topic)", id: "\($0.message.partition):\($0.message.offset)"),
                topic: $0.message.topic, partition: $0.message.partition, offset: $0.message.offset
            )
        }
        let fresh = try await Inbox.record(consumer: handler.consumerName, entries, in: tx, now: now)
        let stamp = RFC3339.format(now)
        for (letter, entry) in zip(letters, entries) where fresh.contains(entry.key) {
            logger.debug(
                "dead letter",
                metadata: [
                    "dlq.kind": "\(letter.kind)", "kafka.topic": "\(letter.message.topic)", "kafka.offset": "\(letter.message.offset)",
                ])
            outbox.append(letter.record(consumer: handler.consumerName, at: stamp))
        }
    }
}
