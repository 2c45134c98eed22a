import CoreMetrics
import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import ServiceLifecycle
import Synchronization

public struct EscalationSettings: Sendable {
    /// Timers claimed per round.
    public var batchSize: Int = 1000
    /// How long a claimed timer is reserved for this worker; after it, another worker may take it over.
    public var lease: Duration = .seconds(60)
    /// Longest sleep between checks; a NOTIFY on planrouter_timers wakes the worker sooner.
    public var pollInterval: Duration = .seconds(1)
    /// A case still `accepted` with no offer and no open task this long after it was
    /// recorded (by the injected clock) is stalled: the watchdog gives it a coordinator task.
    public var stalledCaseAfter: Duration = .seconds(300)
    /// How often (monotonic time) the stalled-case watchdog runs.
    public var watchdogInterval: Duration = .seconds(30)
    public init(
        batchSize: Int = 1000, lease: Duration = .seconds(60), pollInterval: Duration = .seconds(1),
        stalledCaseAfter: Duration = .seconds(300),
        watchdogInterval: Duration = .seconds(30)
    ) {
        self.batchSize = batchSize
        self.lease = lease
        self.pollInterval = pollInterval
        self.stalledCaseAfter = stalledCaseAfter
        self.watchdogInterval = watchdogInterval
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
                var lastWatchdog: ContinuousClock.Instant?
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if lastWatchdog.map({ ContinuousClock.now - $0 >= settings.watchdogInterval }) ?? true {
                        lastWatchdog = .now
                        do {
                            try await checkStalledCases()
                        } catch let e as PostgresError where !e.isRetriable {
                            stats.recordError("database_refused")
                            logger.error("stalled-case watchdog failed; next round later", metadata: ["error": "\(e)"])
                        }
                    }
                    let fired: Int
                    do {
                        fired = try await fireOnce()
                    } catch let e as PostgresError where e.isRetriable && e.code == .server {
                        // A deadlock or serialization failure rolled the firing back (its
                        // leases are released already); the connection is fine.
                        stats.recordError(e.sqlState == "40P01" ? "database_deadlock" : "database_transient")
                        logger.warning(
                            "escalation transaction rolled back; retrying",
                            metadata: ["error": "\(e)", "db.sqlstate": "\(e.sqlState ?? "")"])
                        try await Task.sleep(for: backoff.next())
                        continue
                    }
                    backoff.reset()
                    if fired < settings.batchSize {
                        let wait = try await sleepDuration()
                        if wait > .zero { _ = try await listener.waitForNotification(timeout: wait) }
                        while try await listener.waitForNotification(timeout: .zero) != nil {}
                    }
                }
            } catch let e as PostgresError where e.isRetriable {
                stats.recordError(e.sqlState == "40P01" ? "database_deadlock" : "database_transient")
                let lost = e.code == .connectionLost || e.code == .connectionFailed
                logger.warning(
                    lost ? "escalation lost its database connection; retrying" : "escalation hit a transient database error; retrying",
                    metadata: ["error": "\(e)", "db.sqlstate": "\(e.sqlState ?? "")"])
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
        do {
            try await fire(claimed, now: now)
        } catch {
            // Rolled back: give the leases back now, so the timers are due again at once
            // rather than after the lease (best effort: a lost connection leaves the lease).
            let ids = claimed.map(\.id)
            let workerID = self.workerID
            _ = try? await pool.withConnection { try await TimerLeaseRepository.release(ids: ids, worker: workerID, on: $0) }
            throw error
        }
        return claimed.count
    }

    /// One round of the stalled-case watchdog: every case still `accepted` with no
    /// offer and no open task `stalledCaseAfter` after it was recorded gets one
    /// `routing_stalled` coordinator task (published like every task), with the reason
    /// found (its event set aside by the relay, a dead letter, no classification, …).
    /// One round at a time across workers; a case is flagged once per acceptance.
    /// Returns the number of tasks created.
    @discardableResult
    public func checkStalledCases() async throws -> Int {
        let now = try await clock.now()
        let cutoff = now.addingTimeInterval(-Double(settings.stalledCaseAfter.components.seconds))
        let topic = offers.topics[.coordinatorTasks]
        let round = try await pool.withTransaction { tx -> StalledCasesRepository.Round? in
            guard try await StalledCasesRepository.takeRound(on: tx) else { return nil }
            let round = try await StalledCasesRepository.round(cutoff: cutoff, now: now, limit: 500, on: tx)
            var outbox = OutboxBatch()
            for t in round.created {
                let context = (try? JSONParser.parse(t.context))?.objectValue ?? JSONObject()
                let task = CoordinatorTask(
                    taskID: String(t.id), organizationID: t.organizationID, locationID: t.locationID, planID: t.planID, ownerID: t.ownerID,
                    kind: .routingStalled, urgent: true, reason: t.reason, createdAt: now, context: context)
                outbox.append(
                    CloudEvent(id: "task-\(t.id)", source: "planrouter/escalation", time: now, subject: t.planID, data: task), topic: topic)
            }
            try await outbox.insert(on: tx, now: now)
            return round
        }
        guard let round else { return 0 }
        stats.recordStalled(created: round.created.count, stalled: round.stalled)
        for t in round.created {
            logger.warning(
                "stalled case handed to a coordinator", metadata: ["plan.id": "\(t.planID)", "task.id": "\(t.id)", "reason": "\(t.reason)"])
        }
        if round.resolved > 0 { logger.info("stalled cases moved on; their tasks resolved", metadata: ["count": "\(round.resolved)"]) }
        return round.created.count
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
            // Cases first, in key order, before their timers, holds or tasks: two workers
            // (or the lifecycle consumer) on overlapping cases then wait, never deadlock.
            try await CaseLockRepository.lock(organizations: timers.map(\.organizationID), plans: timers.map(\.planID), on: tx)
            try await self.rules.refreshIfNeeded(on: tx)
            // Patient messages due in a location's quiet hours wait for the morning.
            let zones = try await LocationsRepository.infos(timers.map(\.location), on: tx)
            var postponed: [(id: Int64, until: Date)] = []
            var ready: [DueTimer] = []
            for t in timers {
                // locations.yaml's quiet hours for the location, else the rules file's.
                let quiet =
                    zones[t.location]?.quietHours ?? self.rules.rules(for: t.organizationID).rules.resolved(for: t.locationID).quietHours
                if t.ladderAction == .nudge || t.kind == TimersRepository.pmsRefusedKind, let zone = zones[t.location]?.timeZone,
                    let until = quiet.end(after: now, in: zone)
                {
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
            // Write-back refusals: fresh openings for the case, with a text saying the time could not be confirmed.
            let refused = applied.filter { $0.kind == TimersRepository.pmsRefusedKind }
            if !nudges.isEmpty || !refused.isEmpty {
                // Nudges and re-offers may place holds: their locations next, in id order (after the cases), once.
                try await CaseLockRepository.lockLocations((nudges + refused).map(\.location), on: tx)
            }
            if !nudges.isEmpty { try await offers.nudge(nudges.map(\.key), in: tx, outbox: &outbox, now: now, logger: logger) }
            if !refused.isEmpty {
                try await offers.reofferAfterRefusal(refused.map(\.key), in: tx, outbox: &outbox, now: now, logger: logger)
            }
            // Deposit messages fired in quiet hours wait for the morning too (the deadline itself does not).
            let quietEnd: (DueTimer) -> Date? = { t in
                zones[t.location].flatMap {
                    self.rules.rules(for: t.organizationID).rules.resolved(for: t.locationID).quietHours.end(after: now, in: $0.timeZone)
                }
            }
            let expiries = applied.filter { $0.action == TimersRepository.depositExpiryAction }
            try await DepositExpiry.expire(expiries, offers: offers, in: tx, outbox: &outbox, now: now, sendAfter: quietEnd, logger: logger)
            let reminders = applied.filter { $0.action == TimersRepository.depositReminderAction }
            try await DepositExpiry.remind(reminders, topics: offers.topics, in: tx, outbox: &outbox, now: now, sendAfter: quietEnd)
            let visits = applied.filter { $0.kind == VisitsRepository.timerKind }
            try await VisitRouting.route(visits, topics: offers.topics, in: tx, outbox: &outbox, now: now, logger: logger)
            let escalations = applied.filter { $0.ladderAction == .coordinatorTask }
            if !escalations.isEmpty {
                try await Escalations.createTasks(for: escalations, in: tx, outbox: &outbox, topics: offers.topics, now: now)
            }
            try await outbox.insert(on: tx, now: now)
            self.stats.record(fired: applied.count, lateness: applied.map { now.timeIntervalSince($0.dueAt) })
        }
    }
}

/// Timer counters and firing lateness.
public final class TimerStats: Sendable {
    private let totals = Mutex((fired: 0, running: false, stalledCreated: 0, stalled: 0))
    private let firedMetric: CoreMetrics.Counter?
    private let latenessMetric: CoreMetrics.Timer?
    private let stalledCreatedMetric: CoreMetrics.Counter?
    private let stalledMetric: Recorder?
    private let errorMetric: LabelledCounters

    public init(telemetry: WorkerTelemetry? = nil) {
        firedMetric = telemetry?.counter("planrouter_timers_fired_total", help: "Escalation timers fired (nudges and coordinator tasks).")
        latenessMetric = telemetry?.timer(
            "planrouter_timer_lateness_seconds", help: "Time between a timer's due time and its firing.",
            buckets: [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600),
            ])
        stalledCreatedMetric = telemetry?.counter(
            "planrouter_cases_stalled_total",
            help: "Stalled cases (accepted, no offer, no open task past the bound) handed to a coordinator.")
        stalledMetric = telemetry?.gauge(
            "planrouter_cases_stalled",
            help: "Cases stalled at the last watchdog round (accepted, no offer, no open task other than routing_stalled).")
        errorMetric = .errors(telemetry)
    }
    func recordError(_ kind: String) { errorMetric.increment(kind) }
    func recordStalled(created: Int, stalled: Int) {
        totals.withLock {
            $0.stalledCreated += created
            $0.stalled = stalled
        }
        if created > 0 { stalledCreatedMetric?.increment(by: Int64(created)) }
        stalledMetric?.record(stalled)
    }
    /// `routing_stalled` tasks this worker created.
    public var stalledTasksCreated: Int { totals.withLock { $0.stalledCreated } }
    /// Stalled cases at this worker's last watchdog round.
    public var stalledCases: Int { totals.withLock { $0.stalled } }
    func setRunning(_ running: Bool) { totals.withLock { $0.running = running } }
    public var isRunning: Bool { totals.withLock { $0.running } }
    /// `lateness`: seconds between each fired timer's due time and now.
    func record(fired: Int, lateness: [Double]) {
        totals.withLock { $0.fired += fired }
        firedMetric?.increment(by: Int64(fired))
        for seconds in lateness { latenessMetric?.recordNanoseconds(Int64(max(0, seconds) * 1e9)) }
    }
    public var fired: Int { totals.withLock { $0.fired } }
}
