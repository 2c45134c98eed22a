import CoreMetrics
import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import ServiceLifecycle

public struct EscalationSettings: Sendable {
    /// Timers claimed per round.
    public var batchSize: Int = 1000
    /// How long a claimed timer is reserved for this worker; after it, another worker may take it over.
    public var lease: Duration = .seconds(60)
    /// Longest sleep between checks; a NOTIFY on planrouter_timers wakes the worker sooner.
    public var pollInterval: Duration = .seconds(1)
    public init(batchSize: Int = 1000, lease: Duration = .seconds(60), pollInterval: Duration = .seconds(1)) {
        self.batchSize = batchSize
        self.lease = lease
        self.pollInterval = pollInterval
    }
}

/// Fires due escalation-ladder timers: nudges (fresh openings to the patient) and
/// the coordinator task that ends every ladder. Firing is at-least-once with
/// idempotent effects: a timer's effects are applied in the transaction that marks it
/// done, and only by the worker that still holds its lease.
public final class EscalationWorker: Service {
    let conninfo: String
    let pool: PostgresPool
    /// Nudges re-offer through the same planner the offer worker uses.
    let offers: OfferPlanner
    let clock: any PlanRouterClock
    let settings: EscalationSettings
    let workerID: String
    let logger: Logger
    let rules = RulesCache()
    public let stats: TimerStats

    public init(
        conninfo: String, pool: PostgresPool, offers: OfferPlanner, clock: any PlanRouterClock, settings: EscalationSettings = .init(),
        workerID: String = "escalation-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))",
        telemetry: WorkerTelemetry? = nil, logger: Logger
    ) {
        self.stats = TimerStats(telemetry: telemetry)
        self.conninfo = conninfo
        self.pool = pool
        self.offers = offers
        self.clock = clock
        self.settings = settings
        self.workerID = workerID
        var l = logger
        l[metadataKey: "worker"] = "escalation"
        self.logger = l
    }

    public func run() async throws {
        logger.info("escalation timers started", metadata: ["worker.id": "\(workerID)"])
        stats.setRunning(true)
        defer { stats.setRunning(false) }
        var backoff = Backoff()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // A connection of its own LISTENs; claims and firing use the pool.
                let listener = try await PostgresConnection.connect(conninfo, logger: logger)
                defer { listener.close() }
                try await listener.listen(TimersRepository.notifyChannel)
                backoff.reset()
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let fired = try await fireOnce()
                    if fired < settings.batchSize {
                        let wait = try await sleepDuration()
                        if wait > .zero { _ = try await listener.waitForNotification(timeout: wait) }
                        while try await listener.waitForNotification(timeout: .zero) != nil {}
                    }
                }
            } catch let e as PostgresError where e.isRetriable {
                stats.recordError("database_transient")
                logger.warning("escalation lost its database connection; retrying", metadata: ["error": "\(e)"])
                try? await Task.sleep(for: backoff.next())
            } catch let e as ClockError {
                // Started before the simulation set its clock: wait for it.
                logger.notice("waiting for the clock", metadata: ["reason": "\(e)"])
                try? await Task.sleep(for: settings.pollInterval)
            } catch is CancellationError {
                break
            }
        }
        logger.info("escalation timers stopped")
    }

    /// Until the next due timer (by this worker's clock), at most the poll interval.
    func sleepDuration() async throws -> Duration {
        guard let next = try await pool.withConnection({ try await TimersRepository.nextDue(on: $0) }) else { return settings.pollInterval }
        let seconds = next.timeIntervalSince(try await clock.now())
        if seconds <= 0 { return .zero }
        return min(.milliseconds(Int64(seconds * 1000) + 1), settings.pollInterval)
    }

    /// Claims one batch of due timers and fires them; returns how many were claimed.
    @discardableResult
    func fireOnce() async throws -> Int {
        let now = try await clock.now()
        try await reconcile(now: now)
        let claimed = try await pool.withConnection {
            try await TimersRepository.claim(limit: settings.batchSize, lease: settings.lease, worker: workerID, now: now, on: $0)
        }
        guard !claimed.isEmpty else { return 0 }
        try await fire(claimed, now: now)
        return claimed.count
    }

    /// Lifecycle events kept until their plan arrived are applied once the plan has had its first offer.
    func reconcile(now: Date) async throws {
        let lifecycle = LifecycleHandler(consumerName: "reconcile", topics: offers.topics)
        let logger = self.logger
        try await pool.withTransaction { tx in
            var outbox = OutboxBatch()
            if try await lifecycle.reconcile(in: tx, outbox: &outbox, now: now, logger: logger) > 0 {
                try await outbox.insert(on: tx, now: now)
            }
        }
    }

    func fire(_ timers: [DueTimer], now: Date) async throws {
        let offers = self.offers
        let logger = self.logger
        let workerID = self.workerID
        try await pool.withTransaction { tx in
            try await self.rules.refreshIfNeeded(on: tx)
            // Patient messages due in a location's quiet hours wait for the morning.
            let zones = try await LocationsRepository.infos(Array(Set(timers.map(\.locationID))), on: tx)
            var postponed: [(id: Int64, until: Date)] = []
            var ready: [DueTimer] = []
            for t in timers {
                let quiet = self.rules.rules(for: t.organizationID).rules.resolved(for: t.locationID).quietHours
                if t.ladderAction == .nudge, let zone = zones[t.locationID]?.timeZone, let until = quiet.end(after: now, in: zone) {
                    postponed.append((t.id, until))
                } else {
                    ready.append(t)
                }
            }
            try await TimersRepository.postpone(postponed, worker: workerID, on: tx)
            let mine = try await TimersRepository.complete(ready.map(\.id), worker: workerID, now: now, on: tx)
            let applied = ready.filter { mine.contains($0.id) }
            var outbox = OutboxBatch()
            let nudges = applied.filter { $0.ladderAction == .nudge }
            if !nudges.isEmpty {
                try await offers.nudge(nudges.map(\.key), in: tx, outbox: &outbox, now: now, logger: logger)
            }
            let escalations = applied.filter { $0.ladderAction == .coordinatorTask }
            if !escalations.isEmpty { try await Escalations.createTasks(for: escalations, in: tx, outbox: &outbox, topics: offers.topics, now: now) }
            try await outbox.insert(on: tx, now: now)
            self.stats.record(fired: applied.count, lateness: applied.map { now.timeIntervalSince($0.dueAt) })
        }
    }
}

/// Timer counters and firing lateness.
public final class TimerStats: @unchecked Sendable {
    private let lock = NSLock()
    private var _fired = 0
    private var _running = false
    private let firedMetric: CoreMetrics.Counter?
    private let latenessMetric: CoreMetrics.Timer?
    private let errorMetric: LabelledCounters

    public init(telemetry: WorkerTelemetry? = nil) {
        firedMetric = telemetry?.counter("planrouter_timers_fired_total", help: "Escalation timers fired (nudges and coordinator tasks).")
        latenessMetric = telemetry?.timer(
            "planrouter_timer_lateness_seconds", help: "Time between a timer's due time and its firing.",
            buckets: [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600)])
        errorMetric = .errors(telemetry)
    }
    func recordError(_ kind: String) { errorMetric.increment(kind) }
    func setRunning(_ running: Bool) { lock.withLock { _running = running } }
    public var isRunning: Bool { lock.withLock { _running } }
    /// `lateness`: seconds between each fired timer's due time and now.
    func record(fired: Int, lateness: [Double]) {
        lock.withLock { _fired += fired }
        firedMetric?.increment(by: Int64(fired))
        for seconds in lateness { latenessMetric?.recordNanoseconds(Int64(max(0, seconds) * 1e9)) }
    }
    public var fired: Int { lock.withLock { _fired } }
}
