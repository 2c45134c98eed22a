import ArgumentParser
import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import Synchronization

/// End-to-end throughput (and optionally paced latency) of plan.accepted → classifier →
/// outbox → relay → plan.classified, with the real worker code running in-process.
/// Prints figures, never asserts them.
struct BenchPipeline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Acceptances/s end to end through the classifier and the relay, and paced acceptance→plan.classified latency.",
        discussion: """
            Creates a fresh database planrouter_bench_<pid> on the given server, migrates it, \
            publishes --events plan.accepted envelopes first, then starts a classifier worker and \
            an outbox relay in this process and times from worker start until every event is \
            classified and the outbox is drained, and until every plan.classified message has \
            been consumed by a group consumer. With --latency-rate it then publishes that many \
            acceptances per second for --latency-seconds and reports the latency from send to \
            consumption of the plan.classified message. Without --brokers or \
            PLANROUTER_KAFKA_BROKERS it starts librdkafka's in-process, in-memory mock cluster, \
            which measures the clients and PlanRouter, not a real broker.
            """
    )

    @Option(
        help:
            "PostgreSQL SERVER (URI or conninfo); a fresh database planrouter_bench_<pid> is created on it. Default: $PLANROUTER_DATABASE_URL."
    )
    var databaseURL: String?

    @Option(help: "Bootstrap servers. Env: PLANROUTER_KAFKA_BROKERS. Default: an in-process mock cluster.")
    var brokers: String?

    @Option(help: "Acceptances in the throughput run.")
    var events: Int = 100_000

    @Option(help: "Classifier batch size (events per transaction).")
    var batchSize: Int = 500

    @Option(help: "Relay batch size (outbox rows per round trip).")
    var relayBatchSize: Int = 2000

    @Option(help: "Distinct locations (events are keyed by location).")
    var locations: Int = 200

    @Option(help: "Partitions per topic on the mock cluster. Default: enough that the mock keeps every message.")
    var partitions: Int?

    @Option(help: "Acceptances per second for a paced latency run after the throughput run.")
    var latencyRate: Int?

    @Option(help: "Duration of the paced latency run in seconds.")
    var latencySeconds: Int = 20

    @Option(
        help: ArgumentHelp(
            "A librdkafka property for the classifier's and the reader's consumers, key=value, repeatable (e.g. fetch.wait.max.ms=10).",
            discussion:
                "The mock broker answers a Fetch with no new data only after fetch.wait.max.ms (default 500 ms) even if data arrives meanwhile, which dominates paced latency."
        ))
    var consumerProperty: [String] = []

    @Option(help: "Offer workers in the offer consumer group (with --offer); they split the partitions as separate processes would.")
    var offerWorkers: Int = 1

    @Flag(help: "Keep the bench database instead of dropping it.")
    var keep = false

    @Option(
        help:
            "With --offer: seed this many closed past cases (with their holds, offers, timers and inbox ids) before measuring (BenchHistory)."
    )
    var history: Int = 0

    @Flag(help: "With --history: run `retention prune`'s pass over the seeded history first, as a daily job would have.")
    var pruneHistory = false

    @Flag(
        help:
            "Include the offer worker: every location gets 90 days of schedules; the run ends when every case has its offer (held openings, message, deposit request or task) and the outbox is drained."
    )
    var offer = false

    func validate() throws {
        guard history >= 0, history == 0 || offer else { throw ValidationError("--history needs --offer and must not be negative") }
        guard !pruneHistory || history > 0 else { throw ValidationError("--prune-history needs --history") }
        guard events >= 0, batchSize > 0, relayBatchSize > 0, locations > 0, (partitions ?? 1) > 0, latencySeconds > 0,
            (latencyRate ?? 1) > 0
        else {
            throw ValidationError(
                "--events must not be negative; --batch-size, --relay-batch-size, --locations, --partitions, --latency-rate and --latency-seconds must be positive"
            )
        }
    }

    func run() async throws {
        try await reportingErrors { try await body() }
    }

    private func body() async throws {
        var logger = Logger(label: "planrouter.bench.pipeline")
        logger.logLevel = .warning
        let pid = ProcessInfo.processInfo.processIdentifier
        let tag = "bench\(pid)x\(UInt32.random(in: 0..<UInt32.max) % 1_000_000)"

        // Database: a fresh one on the given server.
        guard let server = databaseURL ?? Environment.value("PLANROUTER_DATABASE_URL") else {
            throw CLIError(
                "no database given: set --database-url or PLANROUTER_DATABASE_URL (scripts/services up starts a local PostgreSQL)")
        }
        let dbName = "planrouter_bench_\(pid)"
        // An unreachable server ends here with reportingErrors' one actionable line.
        let admin = try await PostgresConnection.connect(server, logger: logger)
        defer { admin.close() }

        // Broker: the configured one (checked first) or an in-process mock.
        var mock: KafkaMockCluster?
        let bootstrap: String
        let topics = TopicNames()
        if let configured = brokers ?? Environment.value("PLANROUTER_KAFKA_BROKERS") {
            var quiet = logger
            quiet.logLevel = .critical  // librdkafka's own connect errors would repeat the one line below
            let probe = try KafkaProducer(bootstrapServers: configured, logger: quiet)
            do { try await probe.checkReachable(timeout: .seconds(10)) } catch {
                await probe.close()
                throw CLIError("cannot reach the Kafka brokers \(configured): \(error)")
            }
            await probe.close()
            bootstrap = configured
            benchPrint("brokers: \(bootstrap) (existing topics are used; only this run's plans, tagged \(tag), are counted)")
        } else {
            // The mock keeps about 5 MB per partition and silently drops older data; keys by
            // location spread unevenly, so leave room (~1 KB per message, 2.5 MB per partition).
            let n = partitions ?? max(24, events * 1000 / 2_500_000 + 1)
            let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
            for t in topics.all { try cluster.createTopic(t, partitions: n) }
            mock = cluster
            bootstrap = cluster.bootstrapServers
            benchPrint(
                "brokers: none given; in-process librdkafka mock cluster (1 broker, \(n) partitions per topic, in memory) at \(bootstrap)")
        }
        defer { mock?.close() }

        try await admin.simpleQuery("DROP DATABASE IF EXISTS \(dbName) WITH (FORCE)")
        try await admin.simpleQuery("CREATE DATABASE \(dbName)")
        let dbURL = Self.conninfo(server, database: dbName)
        do {
            let conn = try await PostgresConnection.connect(dbURL, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
            _ = try await Migrator(logger: logger).migrate(on: conn)
            conn.close()
            benchPrint("database: \(dbName) (fresh, migrated\(keep ? ", kept afterwards" : ", dropped afterwards"))")
            try await measure(bootstrap: bootstrap, dbURL: dbURL, topics: topics, tag: tag, logger: logger)
        } catch {
            if !keep { try? await admin.simpleQuery("DROP DATABASE IF EXISTS \(dbName) WITH (FORCE)") }
            throw error
        }
        if !keep { try await admin.simpleQuery("DROP DATABASE IF EXISTS \(dbName) WITH (FORCE)") }
    }

    private func measure(bootstrap: String, dbURL: String, topics: TopicNames, tag: String, logger: Logger) async throws {
        let clock = ContinuousClock()
        var consumerProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]
        for p in consumerProperty {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw CLIError("--consumer-property \"\(p)\" is not key=value")
            }
            consumerProperties[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        if !consumerProperty.isEmpty { benchPrint("consumer properties: \(consumerProperty.joined(separator: " "))") }
        let acceptedTopic = topics[.planAccepted]

        // 1. Publish every acceptance first. The sender stands for a connector, whose events go
        // out through its outbox and the relay: the relay's producer settings (`linger.ms=0`),
        // not librdkafka's 5 ms linger, which added ~5 ms to every paced acceptance.
        let producer = try KafkaProducer(bootstrapServers: bootstrap, properties: OutboxRelay.producerDefaults, logger: logger)
        if events > 0 {
            let chunk = 10_000
            let generator = EnvelopeGenerator(tag: tag, locations: locations)
            let produceStart = clock.now
            let failures = await withTaskGroup(of: Int.self) { group in
                var next = 0
                var failures = 0
                func submit() {
                    let range = next..<min(next + chunk, events)
                    next = range.upperBound
                    group.addTask {
                        let batch = range.map { generator.message(index: $0, topic: acceptedTopic) }
                        return await producer.sendBatch(batch).reduce(0) { n, r in if case .failure = r { n + 1 } else { n } }
                    }
                }
                while next < events && next < chunk * 2 { submit() }
                while let f = await group.next() {
                    failures += f
                    if next < events { submit() }
                }
                return failures
            }
            let t = produceStart.duration(to: clock.now).seconds
            benchPrint(
                String(
                    format: "produce: %d plan.accepted envelopes (%d failed) in %.2f s = %.0f msgs/s (includes building the JSON)",
                    events - failures, failures, t, Double(events - failures) / t))
            guard failures == 0 else { throw CLIError("\(failures) acceptances were not delivered to the broker") }
        }

        // 2. A group consumer at the real end of the pipeline, joining while nothing runs yet.
        let tally = ClassifiedTally(tag: tag)
        let reader = try KafkaConsumer(
            bootstrapServers: bootstrap, groupID: "planrouter-bench-reader-\(tag)", topics: [topics[.planClassified]],
            properties: consumerProperties, logger: logger)
        let readerTask = Task {
            while !Task.isCancelled {
                let batch = try await reader.poll(maxMessages: 2000, timeout: .milliseconds(100))
                if batch.isEmpty { continue }
                let at = ContinuousClock.now
                for m in batch { tally.record(m.value, at: at) }
                reader.markDone(batch)
                try? await reader.commitDone()
            }
            await reader.close()
        }

        // 3. The workers, in-process, as the tests run them.
        let pool = PostgresPool(
            conninfo: dbURL, size: 3 + offerWorkers, settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
        let group = "planrouter-bench-classifier-\(tag)"
        let worker = ConsumerWorker(
            consumer: try KafkaConsumer(
                bootstrapServers: bootstrap, groupID: group, topics: [acceptedTopic], properties: consumerProperties, logger: logger),
            pool: pool, handler: ClassifierHandler(consumerName: group, topics: topics, settings: Self.classifierSettings),
            clock: WallClock(),
            settings: ConsumerSettings(batchSize: batchSize), logger: logger)
        let relay = OutboxRelay(
            conninfo: dbURL,
            producer: try KafkaProducer(bootstrapServers: bootstrap, properties: OutboxRelay.producerDefaults, logger: logger),
            clock: WallClock(), settings: RelaySettings(batchSize: relayBatchSize, idleWait: .milliseconds(100)), logger: logger)
        var offerWorkers: [ConsumerWorker<OfferHandler>] = []
        if offer {
            try await Self.importSchedules(locations: locations, pool: pool)
            benchPrint("offer stage: schedules imported for \(locations) locations (4 dentists and an injector each, 90 days)")
            if history > 0 {
                let seeded = ContinuousClock.now
                try await pool.withConnection { conn in
                    try await BenchHistory.seed(plans: history, locations: locations, on: conn) {
                        FileHandle.standardError.write(Data("\($0)\n".utf8))
                    }
                }
                benchPrint("history: \(history) closed past cases seeded in \(ContinuousClock.now - seeded)")
                if pruneHistory {
                    let pruned = try await pool.withConnection { conn in
                        try await OperationalRetention().run(now: Date(), on: conn) { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
                    }
                    _ = try await pool.withConnection { try await $0.simpleQuery("VACUUM ANALYZE") }
                    benchPrint(
                        "history: retention prune removed \(pruned.total) rows (inbox \(pruned.inbox), holds \(pruned.holds), timers \(pruned.timers))"
                    )
                }
            }
            let offerGroup = "planrouter-bench-offer-\(tag)"
            for _ in 0..<max(1, self.offerWorkers) {
                offerWorkers.append(
                    ConsumerWorker(
                        consumer: try KafkaConsumer(
                            bootstrapServers: bootstrap, groupID: offerGroup, topics: [topics[.planClassified]],
                            properties: consumerProperties,
                            logger: logger),
                        pool: pool,
                        handler: OfferHandler(
                            consumerName: offerGroup, topics: topics,
                            settings: OfferSettings(
                                bookingBaseURL: "https://book.example.com", bookingSecret: "bench-secret-0123456789abcdef0123456789")),
                        clock: WallClock(), settings: ConsumerSettings(batchSize: batchSize), logger: logger))
            }
        }
        let start = clock.now
        let failed = FirstFailure()
        let offerTask = Task { [offerWorkers] in
            await withTaskGroup(of: Void.self) { group in
                for offerWorker in offerWorkers {
                    group.addTask {
                        do { try await offerWorker.run() } catch { failed.set("offer worker stopped: \(describe(error))") }
                    }
                }
            }
        }
        let workerTask = Task {
            do { try await worker.run() } catch { failed.set("classifier worker stopped: \(describe(error))") }
        }
        let relayTask = Task {
            do { try await relay.run() } catch { failed.set("relay stopped: \(describe(error))") }
        }
        func stopAll() async {
            workerTask.cancel()
            offerTask.cancel()
            relayTask.cancel()
            readerTask.cancel()
            await workerTask.value
            await offerTask.value
            await relayTask.value
            _ = try? await readerTask.value
            await pool.close()
            await producer.close()
        }

        do {
            if events > 0 {
                benchPrint(
                    "throughput run: \(events) acceptances over \(locations) locations, classifier batch \(batchSize), relay batch \(relayBatchSize)"
                )
                var dbDone: ContinuousClock.Instant?
                var pipelineDone: ContinuousClock.Instant?
                var lastProgress = clock.now
                var lastChange = clock.now
                var lastSeen = (-1, -1, -1, -1)
                while dbDone == nil || pipelineDone == nil {
                    try await Task.sleep(for: .milliseconds(50))
                    if let failure = failed.value { throw CLIError(failure) }
                    let applied = worker.stats.applied
                    let consumed = tally.taggedCount
                    if pipelineDone == nil && consumed >= events { pipelineDone = clock.now }
                    if dbDone == nil && applied >= events
                        && (offerWorkers.isEmpty ? events : offerWorkers.map(\.stats.applied).reduce(0, +)) >= events
                    {
                        let (classified, pending) = try await pool.withConnection { c in
                            (
                                try await c.query(
                                    offer
                                        ? "SELECT count(DISTINCT plan_id) FROM offers WHERE plan_id LIKE $1"
                                        : "SELECT count(*) FROM classifications WHERE plan_id LIKE $1",
                                    tag + "-%")[0].decode(0, as: Int.self),
                                try await c.query("SELECT count(*) FROM outbox WHERE published_at IS NULL")[0].decode(0, as: Int.self)
                            )
                        }
                        if classified >= events && pending == 0 { dbDone = clock.now }
                    }
                    let now = clock.now
                    let offered = offerWorkers.map(\.stats.applied).reduce(0, +)
                    if (applied, consumed, offered, relay.stats.published) != lastSeen {
                        lastSeen = (applied, consumed, offered, relay.stats.published)
                        lastChange = now
                    } else if lastChange.duration(to: now) > .seconds(60) {
                        throw CLIError("no progress for 60 s: \(applied) classified, \(consumed) plan.classified consumed of \(events)")
                    }
                    if lastProgress.duration(to: now) >= .seconds(1) {
                        lastProgress = now
                        FileHandle.standardError.write(
                            Data(
                                String(
                                    format: "  %5.1f s: classified %d, offered %d, relayed %d, plan.classified consumed %d\n",
                                    start.duration(to: now).seconds, applied, offered, relay.stats.published, consumed
                                ).utf8))
                    }
                }
                let dbSeconds = start.duration(to: dbDone!).seconds
                let endSeconds = start.duration(to: pipelineDone!).seconds
                benchPrint(
                    String(
                        format: offer
                            ? "classifier+offer+relay: %d acceptances classified, offered and outbox drained in %.2f s = %.0f acceptances/s"
                            : "classifier+relay: %d acceptances classified and outbox drained in %.2f s = %.0f acceptances/s",
                        events, dbSeconds, Double(events) / dbSeconds))
                if offer {
                    let summary = try await pool.withConnection { c in
                        try await c.query(
                            "SELECT path || ':' || count(*) FROM offers WHERE plan_id LIKE $1 GROUP BY path ORDER BY path", tag + "-%"
                        ).map { try $0.decode(0, as: String.self) }
                    }
                    benchPrint(
                        "offers by path: \(summary.joined(separator: ", ")); holds: \(try await pool.withConnection { try await $0.query("SELECT count(*) FROM reservations WHERE kind = 'hold'")[0].decode(0, as: Int.self) })"
                    )
                }
                benchPrint(
                    String(
                        format:
                            "end to end: %d plan.classified consumed in %.2f s = %.0f acceptances/s (timed from worker start, group joins included)",
                        events, endSeconds, Double(events) / endSeconds))
                benchPrint(
                    "batches: \(worker.stats.batches) classifier transactions (avg \(events / max(1, worker.stats.batches)) events), \(relay.stats.published) rows relayed, \(worker.stats.retries) retries, \(worker.stats.deadLettered) dead-lettered"
                )
            }

            if let rate = latencyRate {
                try await latencyRun(
                    rate: rate, producer: producer, topic: acceptedTopic, tag: tag, tally: tally, worker: worker, offers: offer ? pool : nil
                )
            }
            benchPrint(Self.memoryLine())
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    /// The generated acceptances carry fixed dates (reproducible runs), so the acceptance
    /// window is opened wide enough for them whatever the wall clock says.
    static let classifierSettings = ClassifierSettings(
        acceptanceWindow: AcceptanceWindow(maximumLead: .seconds(20 * 365 * 86_400), maximumAge: .seconds(20 * 365 * 86_400)))

    /// Imports `SyntheticEvents.schedules` straight into PostgreSQL.
    static func importSchedules(locations: Int, pool: PostgresPool) async throws {
        let now = Date()
        let events = SyntheticEvents.schedules(locations: locations, now: now)
        for chunk in stride(from: 0, to: events.count, by: 50) {
            _ = try await AvailabilityImport(pool: pool).apply(Array(events[chunk..<min(chunk + 50, events.count)]), now: now)
        }
    }

    /// Publishes `rate` acceptances/s for `latencySeconds`, each stamped with its send time.
    private func latencyRun(
        rate: Int, producer: KafkaProducer, topic: String, tag: String, tally: ClassifiedTally, worker: ConsumerWorker<ClassifierHandler>,
        offers pool: PostgresPool?
    ) async throws {
        let total = rate * latencySeconds
        benchPrint("latency run: \(rate) acceptances/s for \(latencySeconds) s (\(total) events), send → plan.classified consumed")
        if events == 0 {
            // Let the consumer groups join before pacing starts (the mock holds a join ~5 s).
            FileHandle.standardError.write(Data("  warming up: waiting for the consumer groups to join\n".utf8))
            try await warmUp(producer: producer, topic: topic, tag: tag, tally: tally, offers: pool)
        }
        let generator = EnvelopeGenerator(tag: tag, locations: locations)
        let clock = ContinuousClock()
        tally.expectLatencies(total)
        let start = clock.now
        var sent = 0
        var inFlight: [Task<Int, Never>] = []
        var lastProgress = start
        // CPU of the in-process mock broker's thread in each second of sending: it shares the
        // two cores with the pipeline, and its cost per fetch grows with the messages it keeps.
        var mockCPUMS: [Int] = []
        var mockCPUSoFar = ProcessStatus.threadCPUMilliseconds(named: "rdk:mock")
        while sent < total {
            let elapsed = start.duration(to: clock.now).seconds
            let due = min(total, Int(elapsed * Double(rate)) + 1)
            if due > sent {
                let range = sent..<due
                sent = due
                let sendTime = clock.now
                for i in range { tally.stampSend(i, at: sendTime) }
                let batch = range.map { generator.message(index: $0, topic: topic, latencySeq: $0, sentAt: sendTime) }
                inFlight.append(Task { await producer.sendBatch(batch).reduce(0) { n, r in if case .failure = r { n + 1 } else { n } } })
            }
            if lastProgress.duration(to: clock.now) >= .seconds(1) {
                lastProgress = clock.now
                if let before = mockCPUSoFar, let now = ProcessStatus.threadCPUMilliseconds(named: "rdk:mock") {
                    mockCPUMS.append(now - before)
                    mockCPUSoFar = now
                }
                FileHandle.standardError.write(
                    Data("  latency run: sent \(sent), classified \(worker.stats.applied), received \(tally.latencyCount)\n".utf8))
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        var failures = 0
        for t in inFlight { failures += await t.value }
        let deadline = clock.now + .seconds(30)
        while tally.latencyCount < total - failures && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let ms = tally.latenciesMS().sorted()
        guard !ms.isEmpty else { throw CLIError("latency run: no plan.classified message arrived") }
        func pct(_ p: Double) -> Double { ms[min(ms.count - 1, max(0, Int((Double(ms.count) * p).rounded(.up)) - 1))] }
        benchPrint(
            String(
                format: "latency: %d of %d received (%d send failures); p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms",
                ms.count, total, failures, pct(0.5), pct(0.9), pct(0.99), ms.last!))
        if !mockCPUMS.isEmpty {
            // librdkafka's mock finds a fetch offset by walking the partition's message sets
            // from the first (a paced producer makes one set per message); a Kafka broker
            // uses an offset index. So a long paced run here measures the mock too.
            benchPrint(
                "in-process mock broker thread, CPU ms per second of sending: "
                    + mockCPUMS.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " "))
        }
        guard let pool else { return }
        // Acceptance to offer: the send time rides in the event id, the offer records when it went out.
        let pattern = "\(tag)-lat-%"
        let offerDeadline = clock.now + .seconds(30)
        while clock.now < offerDeadline {
            let n = try await pool.withConnection {
                try await $0.query("SELECT count(*) FROM offers WHERE plan_id LIKE $1", pattern)[0].decode(0, as: Int.self)
            }
            if n >= total - failures { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let row = try await pool.withConnection {
            try await $0.query(
                """
                SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.9) WITHIN GROUP (ORDER BY ms),
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
                FROM (SELECT extract(epoch FROM o.sent_at) * 1000 - split_part(p.source_event_id, '-t', 2)::numeric / 1e6 AS ms
                      FROM plans p JOIN offers o USING (organization_id, plan_id) WHERE p.plan_id LIKE $1 AND o.kind = 'initial') x
                """, pattern)[0]
        }
        benchPrint(
            String(
                format:
                    "acceptance to offer: %d offers; p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms (send → offer recorded, holds and message in the outbox)",
                try row.decode(0, as: Int.self), try row.decode(1, as: Double?.self) ?? 0, try row.decode(2, as: Double?.self) ?? 0,
                try row.decode(3, as: Double?.self) ?? 0, try row.decode(4, as: Double?.self) ?? 0))
        // The first seconds pay for filling the offer worker's calendar cache (one load per
        // location); per second of sending shows where the run settles.
        let seconds = try await pool.withConnection {
            try await $0.query(
                """
                WITH x AS (
                    SELECT split_part(p.source_event_id, '-t', 2)::numeric / 1e9 AS sent,
                           extract(epoch FROM o.sent_at) * 1000 - split_part(p.source_event_id, '-t', 2)::numeric / 1e6 AS ms
                    FROM plans p JOIN offers o USING (organization_id, plan_id) WHERE p.plan_id LIKE $1 AND o.kind = 'initial'),
                y AS (SELECT floor(sent - min(sent) OVER ())::int AS second, ms FROM x)
                SELECT second, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
                FROM y GROUP BY 1 ORDER BY 1
                """, pattern
            ).map {
                String(
                    format: "%d:%.0f/%.0f", try $0.decode(0, as: Int.self), try $0.decode(1, as: Double.self),
                    try $0.decode(2, as: Double.self))
            }
        }
        benchPrint("acceptance to offer by second of sending (second:p50/p99 ms): \(seconds.joined(separator: " "))")
        // Stricter: until the message that carries the offer (or the coordinator task) has
        // left PlanRouter, i.e. the relay has its delivery report and marked the row.
        let outgoing = """
            SELECT split_part(p.source_event_id, '-t', 2)::numeric / 1e6 AS sent_ms, o.published_at
            FROM outbox o JOIN plans p ON p.plan_id = convert_from(o.payload, 'UTF8')::jsonb -> 'data' ->> 'plan_id'
            WHERE o.topic IN ($2, $3) AND p.plan_id LIKE $1
            """
        let messageTopics = (TopicNames()[.patientMessages], TopicNames()[.coordinatorTasks])
        while clock.now < offerDeadline + .seconds(30) {
            let waiting = try await pool.withConnection {
                try await $0.query(
                    "SELECT count(*) FROM (\(outgoing)) x WHERE published_at IS NULL", pattern, messageTopics.0, messageTopics.1)[0]
                    .decode(0, as: Int.self)
            }
            if waiting == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // The reports join tens of thousands of rows the run just wrote. Before autovacuum has
        // analyzed the bench's fresh tables the planner takes them for nearly empty: after a
        // paced 1,000/s run (60,000 cases) a report ran for more than 14 minutes on both cores,
        // and kept running after the bench was stopped; analyzed, it takes ~3 s. Each report
        // also runs under `reportTimeout`, which ends one that still goes wrong.
        _ = try await pool.withConnection { try await $0.execute("ANALYZE outbox, plans, offers, plan_events") }
        try await printPublishedLatency(pool: pool, pattern: pattern, outgoing: outgoing, messageTopics: messageTopics)
        try await printTransactionSpans(pool: pool, pattern: pattern, messageTopics: messageTopics)
    }

    /// A bound on each latency report (see `ANALYZE` before them): an error, not a backend left running.
    private static let reportTimeout = "SET statement_timeout = '5min'"

    /// The two latency reports' common start, binding $1 the plan id pattern, $2 and $3 the
    /// message topics, $4 plan.classified: `m`, each offer message published with its
    /// acceptance's send time; `c`, each case's plan.classified row. Ends with a comma.
    private static let publishedOffersCTEs = """
        WITH m AS MATERIALIZED (
            SELECT p.organization_id, p.plan_id, split_part(p.source_event_id, '-t', 2)::numeric / 1e6 AS sent_ms, o.published_at
            FROM outbox o JOIN plans p ON p.plan_id = convert_from(o.payload, 'UTF8')::jsonb -> 'data' ->> 'plan_id'
            WHERE o.topic IN ($2, $3) AND p.plan_id LIKE $1 AND o.published_at IS NOT NULL),
        -- MATERIALIZED: each side's JSON is parsed once and the two are hashed together; inlined,
        -- the planner may join them in a nested loop and parse payloads per pair (on a database
        -- holding a history that took minutes).
        c AS MATERIALIZED (
            SELECT convert_from(o.payload, 'UTF8')::jsonb -> 'data' ->> 'plan_id' AS plan_id, o.created_at, o.published_at
            FROM outbox o WHERE o.topic = $4 AND convert_from(o.payload, 'UTF8')::jsonb -> 'data' ->> 'plan_id' LIKE $1),

        """

    /// Acceptance sent → offer message published: percentiles, by second of sending (to show
    /// there is no drift), and by hop, so a p99 can be traced to the stage that adds it.
    /// Hops: sent → the classifier's transaction (its outbox row's `created_at`) → plan.classified
    /// published by the relay → the offer transaction (`offers.sent_at`) → the message published.
    private func printPublishedLatency(
        pool: PostgresPool, pattern: String, outgoing: String, messageTopics: (String, String)
    ) async throws {
        let rows = try await pool.withConnection {
            _ = try await $0.execute(Self.reportTimeout)
            return try await $0.query(
                Self.publishedOffersCTEs
                    + """
                    x AS (
                        SELECT floor((m.sent_ms - min(m.sent_ms) OVER ()) / 1000)::int AS second,
                               extract(epoch FROM m.published_at) * 1000 - m.sent_ms AS ms,
                               extract(epoch FROM c.created_at) * 1000 - m.sent_ms AS h1,
                               extract(epoch FROM c.published_at - c.created_at) * 1000 AS h2,
                               extract(epoch FROM o.sent_at - c.published_at) * 1000 AS h3,
                               extract(epoch FROM m.published_at - o.sent_at) * 1000 AS h4
                        FROM m JOIN c USING (plan_id)
                        JOIN offers o ON o.organization_id = m.organization_id AND o.plan_id = m.plan_id AND o.kind = 'initial')
                    SELECT -1, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.9) WITHIN GROUP (ORDER BY ms),
                           percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms),
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY h1), percentile_cont(0.99) WITHIN GROUP (ORDER BY h1),
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY h2), percentile_cont(0.99) WITHIN GROUP (ORDER BY h2),
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY h3), percentile_cont(0.99) WITHIN GROUP (ORDER BY h3),
                           percentile_cont(0.5) WITHIN GROUP (ORDER BY h4), percentile_cont(0.99) WITHIN GROUP (ORDER BY h4)
                    FROM x
                    UNION ALL
                    SELECT second, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), 0, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
                           max(ms), 0, 0, 0, 0, 0, 0, 0, 0
                    FROM x GROUP BY second
                    ORDER BY 1
                    """, pattern, messageTopics.0, messageTopics.1, TopicNames()[.planClassified])
        }
        guard let all = rows.first, try all.decode(0, as: Int.self) == -1, try all.decode(1, as: Int.self) > 0 else {
            benchPrint("acceptance to offer message published: no published offer message to measure")
            return
        }
        func v(_ r: PostgresRow, _ i: Int) throws -> Double { try r.decode(i, as: Double?.self) ?? 0 }
        benchPrint(
            String(
                format:
                    "acceptance to offer message published: %d offers; p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms (relay has the delivery report)",
                try all.decode(1, as: Int.self), try v(all, 2), try v(all, 3), try v(all, 4), try v(all, 5)))
        let bySecond = try rows.dropFirst().map {
            String(format: "%d:%.0f/%.0f", try $0.decode(0, as: Int.self), try v($0, 2), try v($0, 4))
        }
        benchPrint("  published, by second of sending (second:p50/p99 ms): \(bySecond.joined(separator: " "))")
        benchPrint(
            String(
                format:
                    "  by hop, p50/p99 ms: sent → classifier transaction %.1f/%.1f; → plan.classified published %.1f/%.1f; → offer transaction %.1f/%.1f; → offer message published %.1f/%.1f",
                try v(all, 6), try v(all, 7), try v(all, 8), try v(all, 9), try v(all, 10), try v(all, 11), try v(all, 12),
                try v(all, 13)))
    }

    /// The hops split at each transaction's start and commit, where the server records commit
    /// times (`track_commit_timestamp`, on in `scripts/services`' cluster): waiting before a
    /// worker's transaction, the transaction itself, and the relay after its commit. The
    /// classifier's and the offer worker's commits are read from their `plan_events` rows,
    /// which nothing updates afterwards (an outbox row is updated when it is published).
    private func printTransactionSpans(pool: PostgresPool, pattern: String, messageTopics: (String, String)) async throws {
        let rows = try await pool.withConnection { conn -> PostgresRows in
            _ = try await conn.execute(Self.reportTimeout)
            guard try await conn.query("SELECT current_setting('track_commit_timestamp') = 'on'")[0].decode(0, as: Bool.self) else {
                return try await conn.query("SELECT 1 WHERE false")
            }
            return try await conn.query(
                Self.publishedOffersCTEs
                    + """
                    -- One row a case with both commits (the bench's plan ids are unique across its
                    -- organizations), so e joins once on one key.
                    e AS MATERIALIZED (
                        SELECT plan_id, max(pg_xact_commit_timestamp(xmin)) FILTER (WHERE kind = 'classified') AS classified,
                               max(pg_xact_commit_timestamp(xmin)) FILTER (WHERE kind = 'offered') AS offered
                        FROM plan_events WHERE kind IN ('classified', 'offered') AND plan_id LIKE $1 GROUP BY plan_id),
                    x AS (
                        SELECT extract(epoch FROM c.created_at) * 1000 - m.sent_ms AS a,
                               extract(epoch FROM e.classified - c.created_at) * 1000 AS b,
                               extract(epoch FROM c.published_at - e.classified) * 1000 AS c,
                               extract(epoch FROM o.sent_at - c.published_at) * 1000 AS d,
                               extract(epoch FROM e.offered - o.sent_at) * 1000 AS e,
                               extract(epoch FROM m.published_at - e.offered) * 1000 AS f
                        FROM m JOIN c USING (plan_id) JOIN e USING (plan_id)
                        JOIN offers o ON o.organization_id = m.organization_id AND o.plan_id = m.plan_id AND o.kind = 'initial')
                    SELECT q, percentile_cont(q) WITHIN GROUP (ORDER BY a), percentile_cont(q) WITHIN GROUP (ORDER BY b),
                           percentile_cont(q) WITHIN GROUP (ORDER BY c), percentile_cont(q) WITHIN GROUP (ORDER BY d),
                           percentile_cont(q) WITHIN GROUP (ORDER BY e), percentile_cont(q) WITHIN GROUP (ORDER BY f)
                    FROM x, unnest(ARRAY[0.5, 0.99]::float8[]) AS q WHERE b IS NOT NULL AND e IS NOT NULL GROUP BY q ORDER BY q
                    """, pattern, messageTopics.0, messageTopics.1, TopicNames()[.planClassified])
        }
        guard rows.count == 2 else {
            benchPrint("  (transaction spans need track_commit_timestamp = on, as scripts/services sets it)")
            return
        }
        func v(_ r: PostgresRow, _ i: Int) throws -> Double { try r.decode(i, as: Double?.self) ?? 0 }
        let spans = try (1...6).map { i in String(format: "%.1f/%.1f", try v(rows[0], i), try v(rows[1], i)) }
        benchPrint(
            "  by span, p50/p99 ms (commit timestamps): sent → classifier transaction starts \(spans[0]); classifier transaction \(spans[1]); "
                + "its relay \(spans[2]); → offer transaction starts \(spans[3]); offer transaction \(spans[4]); its relay \(spans[5])")
    }

    /// Sends one acceptance and waits for its plan.classified, so both groups have joined.
    /// Sends one acceptance and waits for its plan.classified (and, with the offer stage,
    /// its offer), so every consumer group has joined before pacing starts. Calendars are
    /// not warmed: their first loads are part of what the run measures.
    private func warmUp(
        producer: KafkaProducer, topic: String, tag: String, tally: ClassifiedTally, offers pool: PostgresPool?
    ) async throws {
        let generator = EnvelopeGenerator(tag: tag + "w", locations: locations)
        _ = await producer.sendBatch([generator.message(index: 0, topic: topic)])
        let deadline = ContinuousClock.now + .seconds(60)
        while tally.runCount == 0 {
            guard ContinuousClock.now < deadline else { throw CLIError("warm-up acceptance was not classified within 60 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let pool else { return }
        while try await pool.withConnection({
            try await $0.query("SELECT count(*) FROM offers WHERE plan_id LIKE $1", "\(tag)w%")[0].decode(0, as: Int.self)
        }) == 0 {
            guard ContinuousClock.now < deadline else { throw CLIError("warm-up acceptance got no offer within 60 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func memoryLine() -> String {
        func field(_ name: String) -> String { ProcessStatus.field(name) ?? "?" }
        return
            "memory: peak RSS (VmHWM) \(field("VmHWM")), current RSS \(field("VmRSS")) — the whole bench process: workers, reader, producer and (if used) the in-memory mock broker with every message"
    }

    static func conninfo(_ server: String, database: String) -> String {
        if server.hasPrefix("postgres://") || server.hasPrefix("postgresql://"), var components = URLComponents(string: server) {
            components.path = "/\(database)"
            return components.string ?? server
        }
        // In key=value strings the last occurrence of a keyword wins.
        return "\(server) dbname=\(database)"
    }
}

/// The first failure of a background task.
final class FirstFailure: Sendable {
    private let first = Mutex<String?>(nil)
    func set(_ v: String) { first.withLock { if $0 == nil { $0 = v } } }
    var value: String? { first.withLock { $0 } }
}

/// Counts plan.classified messages of this run and the latency of the paced ones.
final class ClassifiedTally: Sendable {
    private struct Counts {
        var run = 0
        var tagged = 0
        var total = 0
        var sendTimes: [ContinuousClock.Instant?] = []
        var latencies: [Double] = []
    }
    private let tagBytes: [UInt8]
    private let runBytes: [UInt8]
    private let latencyMarker: [UInt8]
    private let latencyPrefix: String
    private let counts = Mutex(Counts())

    init(tag: String) {
        tagBytes = Array("\"\(tag)-".utf8)
        runBytes = Array("\"\(tag)".utf8)
        latencyPrefix = "\(tag)-lat-"
        latencyMarker = Array(latencyPrefix.utf8)
    }

    var taggedCount: Int { counts.withLock { $0.tagged } }
    var totalCount: Int { counts.withLock { $0.total } }
    /// Messages of this run, warm-up included.
    var runCount: Int { counts.withLock { $0.run } }
    var latencyCount: Int { counts.withLock { $0.latencies.count } }
    func latenciesMS() -> [Double] { counts.withLock { $0.latencies } }

    func expectLatencies(_ n: Int) { counts.withLock { $0.sendTimes = Array(repeating: nil, count: n) } }
    func stampSend(_ seq: Int, at t: ContinuousClock.Instant) { counts.withLock { $0.sendTimes[seq] = t } }

    func record(_ value: [UInt8], at arrival: ContinuousClock.Instant) {
        var latency: Double?
        if Self.contains(value, latencyMarker) {
            if let subject = (try? JSONParser.parse(value))?.objectValue?["subject"]?.stringValue,
                subject.hasPrefix(latencyPrefix), let seq = Int(subject.dropFirst(latencyPrefix.count))
            {
                counts.withLock { counts in
                    if seq < counts.sendTimes.count, let sent = counts.sendTimes[seq] {
                        latency = sent.duration(to: arrival).seconds * 1000
                        counts.sendTimes[seq] = nil  // a duplicate is not counted twice
                    }
                }
            }
        }
        let isTagged = latency == nil && Self.contains(value, tagBytes)
        let ofRun = Self.contains(value, runBytes)
        counts.withLock { counts in
            counts.total += 1
            if ofRun { counts.run += 1 }
            if isTagged { counts.tagged += 1 }
            if let latency { counts.latencies.append(latency) }
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                var i = 0
                let last = h.count - n.count
                while i <= last {
                    if h[i] == first && memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
                    i += 1
                }
                return false
            }
        }
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
