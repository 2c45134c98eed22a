import CoreMetrics
import Foundation
import Logging
import PlanRouterCore
import PlanRouterMessaging
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import ServiceLifecycle
import Synchronization

/// The sending half of `planrouter worker notify`: claims due deliveries (`FOR UPDATE SKIP
/// LOCKED`, a lease), decides in the claiming transaction what must not be sent (the case
/// closed, the number opted out), calls the providers outside any transaction, and records
/// the outcomes, those that arrive together in one transaction (`GroupCommit`).
/// `run` is a pipeline: it claims again as soon as a quarter of its `concurrency` is free,
/// instead of waiting for a round's slowest call; it claims only what it can send at once,
/// so no claimed delivery waits out its lease in a queue.
///
/// Exactly once per message id: the row is `sending` with this sender's lease before the
/// provider call. A sender that dies after the call leaves it `sending`; whoever claims it
/// after the lease first asks the provider whether it took the message (Twilio: a list
/// lookup; see docs/messaging.md for what that cannot rule out).
public final class NotifySender: Service {
    let pool: PostgresPool
    let adapters: ChannelAdapters
    let clock: any PlanRouterClock
    let settings: NotifySettings
    let topics: TopicNames
    let workerID: String
    let logger: Logger
    let limit = SendRateLimit()
    let outcomes = GroupCommit<SendResult>()
    /// Deliveries `run` has claimed whose outcome is not recorded yet.
    let inFlight = Mutex(0)
    public let stats: NotifyStats

    public init(
        pool: PostgresPool, adapters: ChannelAdapters, clock: any PlanRouterClock, settings: NotifySettings = .init(),
        topics: TopicNames = .init(),
        workerID: String = "notify-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))",
        telemetry: WorkerTelemetry? = nil, logger: Logger
    ) {
        self.pool = pool
        self.adapters = adapters
        self.clock = clock
        self.settings = settings
        self.topics = topics
        self.workerID = workerID
        self.stats = NotifyStats(telemetry: telemetry)
        var l = logger
        l[metadataKey: "worker"] = "notify"
        self.logger = l
    }

    public func run() async throws {
        logger.info("notify sender started", metadata: ["worker.id": "\(workerID)"])
        let capacity = max(settings.concurrency, 1)
        // A finished call frees a slot; one buffered wake-up is enough to look again.
        let (freed, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        var wakeUps = freed.makeAsyncIterator()
        var backoff = Backoff()
        // The calls in flight finish and record on shutdown: the group waits for them.
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let room = capacity - self.inFlight.withLock { $0 }
                // A claim is a transaction: claim in chunks, not one delivery per freed slot.
                guard room >= max(1, capacity / 4) else {
                    _ = await wakeUps.next()
                    continue
                }
                let limit = min(room, settings.batchSize)
                do {
                    let (claimed, toSend) = try await claimDue(limit: limit)
                    backoff.reset()
                    for c in toSend {
                        self.inFlight.withLock { $0 += 1 }
                        group.addTask {
                            defer {
                                self.inFlight.withLock { $0 -= 1 }
                                wake.yield()
                            }
                            do { try await self.deliver(c) } catch is CancellationError {
                                // Shutting down mid-call: left `sending`, looked up at the provider after the lease.
                            } catch {
                                // Left `sending`: after the lease a sender asks the provider before sending again.
                                self.logger.error(
                                    "recording a send outcome failed", metadata: ["delivery.id": "\(c.id)", "error": "\(error)"])
                            }
                        }
                    }
                    if claimed < limit { try await Task.sleep(for: settings.pollInterval) }
                } catch let e as PostgresError where e.isRetriable {
                    stats.record(channel: "any", outcome: "database_transient")
                    logger.warning("notify sender hit a transient database error; retrying", metadata: ["error": "\(e)"])
                    try? await Task.sleep(for: backoff.next())
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("notify sender could not claim; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: backoff.next())
                }
            }
        }
        wake.finish()
        logger.info("notify sender stopped")
    }

    /// One round (tests, `bench`): claim what is due, settle what must not be sent, send the
    /// rest, record. Returns how many deliveries it claimed.
    @discardableResult
    public func sendDue() async throws -> Int {
        let (claimed, toSend) = try await claimDue(limit: settings.batchSize)
        guard !toSend.isEmpty else { return claimed }
        // Provider calls outside any transaction, a bounded number at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for c in toSend {
                if inFlight >= max(settings.concurrency, 1) {
                    _ = try await group.next()
                    inFlight -= 1
                }
                group.addTask { try await self.deliver(c) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        return claimed
    }

    /// Claims up to `limit` due deliveries and, in the same transaction, settles those that must
    /// not be sent; returns how many it claimed and those to send.
    func claimDue(limit: Int) async throws -> (claimed: Int, toSend: [ClaimedDelivery]) {
        let now = try await clock.now()
        return try await pool.withTransaction { tx in
            let claimed = try await MessageDeliveriesRepository.claim(
                worker: self.workerID, limit: limit, leaseUntil: now + self.settings.lease.timeInterval, now: now, on: tx)
            var outbox = OutboxBatch()
            var events: [PlanEventRow] = []
            var toSend: [ClaimedDelivery] = []
            for c in claimed {
                // A deposit message (deposit_after_booking) or the confirmation of a booked case is still wanted.
                if let status = c.caseStatus, CaseStatus.closing.contains(status),
                    !(status == .booked && [MessageKind.deposit.rawValue, MessageKind.confirmation.rawValue].contains(c.kind))
                {
                    // Booked, declined, cancelled or revoked since the message was queued: nothing to say any more.
                    if try await self.end(c, .cancelled, error: "case_\(status.rawValue)", now: now, on: tx) {
                        events.append(self.fact("message_cancelled", c, now: now, ["reason": .string("case_\(status.rawValue)")]))
                    }
                } else if c.suppressed {
                    try await self.optedOut(c, error: "sms_opted_out", in: tx, outbox: &outbox, events: &events, now: now)
                } else if self.adapters.adapter(c.key.organizationID, c.channel) == nil {
                    try await self.failed(
                        c, error: "no_\(c.channel.rawValue)_channel_configured", in: tx, outbox: &outbox, events: &events, now: now)
                } else {
                    toSend.append(c)
                }
            }
            try await PlanEventsRepository.append(events, recordedAt: now, on: tx)
            try await outbox.insert(on: tx, now: now)
            return (claimed.count, toSend)
        }
    }

    /// The provider call for one claimed delivery, and its outcome recorded.
    func deliver(_ c: ClaimedDelivery) async throws {
        guard let adapter = adapters.adapter(c.key.organizationID, c.channel) else { return }
        let body = c.channel == .sms && c.firstToRecipient ? SMSWording.firstText(c.body) : c.body
        let message = OutgoingMessage(
            deliveryID: c.id, organizationID: c.key.organizationID, messageID: c.messageID, to: c.recipient, subject: c.subject, body: body,
            calendar: c.channel == .email ? c.calendar : nil)
        var outcome: SendOutcome?
        if c.attemptsBefore > 0 {
            // An earlier attempt may have reached the provider: never send blindly again.
            do {
                if let id = try await adapter.findAccepted(message, since: c.previousUpdate) {
                    outcome = .accepted(providerID: id)
                    stats.record(channel: c.channel.rawValue, outcome: "found_at_provider")
                    logger.info("earlier attempt found at the provider; not sent again", metadata: ["delivery.id": "\(c.id)"])
                }
            } catch {
                outcome = .transient(errorClass: "lookup_failed")
            }
        }
        if outcome == nil {
            try await limit.wait(adapter.senderKey, rate: adapter.ratePerSecond)
            outcome = await adapter.send(message)
        }
        try await outcomes.submit(SendResult(delivery: c, outcome: outcome!)) { try await self.record($0) }
    }

    func record(_ items: [SendResult]) async throws {
        var backoff = Backoff()
        while true {
            do {
                try await recordOnce(items)
                return
            } catch let e as PostgresError where e.isRetriable {
                // The provider has acted: the outcome must be written, or the lease would expire into a lookup.
                logger.warning("recording a send outcome failed; retrying", metadata: ["error": "\(e)"])
                try await Task.sleep(for: backoff.next())
            }
        }
    }

    /// The outcomes in one transaction: the accepted ones (nearly all) in one statement, one
    /// plan-events insert for all their facts.
    func recordOnce(_ items: [SendResult]) async throws {
        let now = try await clock.now()
        try await pool.withTransaction { tx in
            var outbox = OutboxBatch()
            var events: [PlanEventRow] = []
            var accepted: [(delivery: ClaimedDelivery, providerID: String)] = []
            for item in items {
                let c = item.delivery
                switch item.outcome {
                case .accepted(let providerID):
                    accepted.append((c, providerID))
                case .optedOut(let error):
                    try await SuppressionsRepository.optOut(
                        organizationID: c.key.organizationID, phone: c.recipient, keyword: error, now: now, on: tx)
                    try await self.optedOut(c, error: error, in: tx, outbox: &outbox, events: &events, now: now)
                case .permanent(let error):
                    try await self.failed(c, error: error, in: tx, outbox: &outbox, events: &events, now: now)
                case .transient(let error):
                    let attempt = c.attemptsBefore + 1
                    if attempt >= self.settings.maxAttempts {
                        try await self.failed(c, error: "\(error);retries_exhausted", in: tx, outbox: &outbox, events: &events, now: now)
                    } else {
                        let next = now + self.settings.retryDelay(afterAttempt: attempt).timeInterval
                        try await MessageDeliveriesRepository.retryLater(
                            id: c.id, worker: self.workerID, nextAttemptAt: next, error: error, now: now, on: tx)
                        self.stats.record(channel: c.channel.rawValue, outcome: "retry")
                    }
                }
            }
            let settled = try await MessageDeliveriesRepository.settleSent(
                accepted.map { ($0.delivery.id, $0.providerID) }, worker: self.workerID, now: now, on: tx)
            // Only the claims still this sender's: one taken over after the lease is the other sender's to record.
            for (c, providerID) in accepted where settled.contains(c.id) {
                events.append(self.fact("message_sent", c, now: now, ["provider_id": .string(providerID)]))
                self.stats.record(channel: c.channel.rawValue, outcome: "sent")
            }
            try await PlanEventsRepository.append(events, recordedAt: now, on: tx)
            try await outbox.insert(on: tx, now: now)
        }
    }

    /// The number opted out: `opted_out`, then the patient's email if there is one (and an
    /// email channel), else, for a first offer, a coordinator task.
    func optedOut(
        _ c: ClaimedDelivery, error: String, in tx: PostgresConnection, outbox: inout OutboxBatch, events: inout [PlanEventRow], now: Date
    ) async throws {
        guard try await end(c, .optedOut, error: error, now: now, on: tx) else { return }
        if let email = c.patientEmail, adapters.adapter(c.key.organizationID, .email) != nil {
            let fallback = PatientMessage(
                messageID: c.messageID + ":email", organizationID: c.key.organizationID, locationID: c.locationID, planID: c.key.planID,
                patientID: c.patientID, channel: .email, to: email, kind: MessageKind(rawValue: c.kind) ?? .offer, subject: c.subject,
                body: c.body, calendar: c.calendar)
            try await MessageDeliveriesRepository.record(
                [NewDelivery(message: fallback, eventSource: "planrouter/notify", eventID: "fallback:\(c.messageID)")], now: now, on: tx)
            events.append(self.fact("message_opted_out", c, now: now, ["reason": .string(error), "fallback": "email"]))
        } else {
            events.append(self.fact("message_opted_out", c, now: now, ["reason": .string(error), "fallback": "coordinator"]))
            try await handOver(c, reason: "patient opted out of texts and has no email on file", in: tx, outbox: &outbox, now: now)
        }
    }

    /// A final failure: `failed`, a fact on the case, and for a first offer a coordinator task.
    func failed(
        _ c: ClaimedDelivery, error: String, in tx: PostgresConnection, outbox: inout OutboxBatch, events: inout [PlanEventRow], now: Date
    ) async throws {
        guard try await end(c, .failed, error: error, now: now, on: tx) else { return }
        events.append(fact("message_failed", c, now: now, ["error": .string(error)]))
        try await handOver(
            c, reason: "first offer could not be delivered by \(c.channel.rawValue) (\(error))", in: tx, outbox: &outbox, now: now)
    }

    /// Ends this sender's claim with a final status and counts it; false when the claim was
    /// no longer this sender's (another one took it over after the lease).
    func end(_ c: ClaimedDelivery, _ status: DeliveryStatus, error: String, now: Date, on tx: PostgresConnection) async throws -> Bool {
        guard try await MessageDeliveriesRepository.settle(id: c.id, worker: workerID, status: status, error: error, now: now, on: tx)
        else { return false }
        stats.record(channel: c.channel.rawValue, outcome: status.rawValue)
        return true
    }

    /// A first offer that reaches nobody turns the case into a coordinator task (a callback).
    func handOver(_ c: ClaimedDelivery, reason: String, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date) async throws {
        guard c.kind == MessageKind.offer.rawValue, c.caseStatus.map(CaseStatus.open.contains) ?? false else { return }
        try await PlansRepository.transitionLater([(c.key, .escalated)], from: [.accepted, .offered], now: now, on: tx)
        for t in try await TasksRepository.createEscalationTasks(for: [c.key], kind: .callback, reason: reason, now: now, on: tx) {
            outbox.append(
                CloudEvent(id: "task-\(t.id)", source: "planrouter/notify", time: now, subject: c.key.planID, data: t.task),
                topic: topics[.coordinatorTasks])
        }
    }

    /// A delivery fact on the case's history (ids and classes only, no contact or content).
    func fact(_ kind: String, _ c: ClaimedDelivery, now: Date, _ extra: JSONObject) -> PlanEventRow {
        var detail: JSONObject = [
            "message_id": .string(c.messageID), "channel": .string(c.channel.rawValue), "message_kind": .string(c.kind),
            "delivery_id": .int(c.id),
        ]
        for (k, v) in extra { detail[k] = v }
        return PlanEventRow(
            organizationID: c.key.organizationID, planID: c.key.planID, locationID: c.locationID, kind: kind, source: "planrouter/notify",
            eventID: c.messageID, occurredAt: now, detail: .object(detail))
    }
}

/// A provider's answer for one claimed delivery, waiting to be recorded.
struct SendResult: Sendable {
    var delivery: ClaimedDelivery
    var outcome: SendOutcome
}

/// Counters of the sender (`planrouter_messages_total{channel,outcome}`).
public final class NotifyStats: Sendable {
    let telemetry: WorkerTelemetry?
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let counts = Mutex<[String: Int]>([:])

    init(telemetry: WorkerTelemetry?) { self.telemetry = telemetry }

    func record(channel: String, outcome: String) {
        let key = "\(channel)/\(outcome)"
        counts.withLock { $0[key, default: 0] += 1 }
        guard let telemetry else { return }
        let counter = counters.withLock { c in
            if let existing = c[key] { return existing }
            let made = telemetry.counter(
                "planrouter_messages_total", help: "Message deliveries by channel and outcome.",
                [("channel", channel), ("outcome", outcome)])
            c[key] = made
            return made
        }
        counter.increment()
    }

    /// How many deliveries ended with `outcome` on `channel` in this process (tests, bench).
    public func count(channel: String, outcome: String) -> Int { counts.withLock { $0["\(channel)/\(outcome)"] ?? 0 } }
}

extension Duration {
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
