import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// The case lifecycle from the PMS (consumer group planrouter-escalation):
/// - appointment.changed booking the plan's patient for the plan (by plan_id, or by
///   patient with overlapping procedure codes) closes the case as booked: the ladder
///   stops at once, holds are released, open tasks are cancelled;
/// - that appointment cancelled (or broken) later re-opens the case to a coordinator;
/// - plan.changed declined / cancelled / acceptance_revoked closes the case.
public struct LifecycleHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.appointmentChanged, .planChanged]
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    let topics: TopicNames

    public init(consumerName: String = "planrouter-escalation", topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
    }

    /// A lifecycle event decoded at the handler's edge.
    struct Change {
        enum Kind {
            case appointment(AppointmentChanged)
            case plan(PlanChanged)
        }

        var incoming: IncomingEvent
        var kind: Kind

        init(_ e: IncomingEvent) throws(EventRejection) {
            incoming = e
            switch e.event.type {
            case .appointmentChanged: kind = .appointment(try e.event.decode(AppointmentChanged.self))
            case .planChanged: kind = .plan(try e.event.decode(PlanChanged.self))
            default: throw EventRejection(.unexpectedType, "not a lifecycle event")
            }
        }

        var organizationID: String {
            switch kind {
            case .appointment(let a): a.organizationID
            case .plan(let p): p.organizationID
            }
        }
        var locationID: String {
            switch kind {
            case .appointment(let a): a.locationID
            case .plan(let p): p.locationID
            }
        }
        /// The plan the event names (appointments may name none).
        var planID: String? {
            switch kind {
            case .appointment(let a): a.planID
            case .plan(let p): p.planID
            }
        }
        var changedAt: Date {
            switch kind {
            case .appointment(let a): a.changedAt
            case .plan(let p): p.changedAt
            }
        }
        var plan: PlanKey? { planID.map { PlanKey(organizationID: organizationID, planID: $0) } }
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var changes: [Change] = []
        for e in events {
            do { changes.append(try Change(e)) } catch { letters.append(DeadLetter(message: e.message, rejection: error)) }
        }
        // The named cases first, in key order, as the timer workers lock them: no deadlock between the two.
        let named = changes.compactMap(\.plan)
        try await CaseLockRepository.lock(organizations: named.map(\.organizationID), plans: named.map(\.planID), on: tx)
        for c in try await keepEventsOfUnknownPlans(changes, in: tx, now: now) {
            switch c.kind {
            case .appointment(let a):
                switch a.status {
                case .scheduled: try await booked(c, a, in: tx, now: now)
                case .completed:
                    try await booked(c, a, in: tx, now: now)
                    try await visitCompleted(c, a, in: tx, now: now)
                case .cancelled, .broken: try await reopen(c, a, in: tx, outbox: &outbox, now: now)
                }
            case .plan(let p):
                let status: CaseStatus? =
                    switch p.change {
                    case .declined: .declined
                    case .cancelled: .cancelled
                    case .acceptanceRevoked: .revoked
                    case .modified: nil
                    }
                guard let status else {
                    // Modified plans are re-classified by the classifier (a later stage); recorded here.
                    try await history(c, kind: "plan_\(p.change.rawValue)", detail: [:], in: tx, now: now)
                    continue
                }
                let closed = try await close(
                    PlanKey(organizationID: p.organizationID, planID: p.planID), status: status,
                    reason: "plan \(p.change.rawValue) in the PMS",
                    in: tx, now: now)
                try await history(
                    c, kind: closed ? status.rawValue : "\(status.rawValue)_ignored",
                    detail: ["reason": .string(p.reason ?? p.change.rawValue)],
                    in: tx, now: now)
            }
        }
        return letters
    }

    /// Events naming a plan that does not exist yet are kept for later; returns the rest.
    func keepEventsOfUnknownPlans(_ changes: [Change], in tx: PostgresConnection, now: Date) async throws -> [Change] {
        let named = changes.compactMap(\.plan)
        guard !named.isEmpty else { return changes }
        let known = try await PlansRepository.existing(named, on: tx)
        var rest: [Change] = []
        var kept: [(key: PlanKey, event: JSONValue)] = []
        for c in changes {
            if let plan = c.plan, !known.contains(plan) {
                kept.append((plan, c.incoming.event.json))
            } else {
                rest.append(c)
            }
        }
        try await PendingLifecycleRepository.keep(kept, now: now, on: tx)
        return rest
    }

    /// Applies kept events whose plan now exists (run by the escalation worker each round).
    public func reconcile(in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger) async throws -> Int {
        var events: [(Int64, IncomingEvent)] = []
        for r in try await PendingLifecycleRepository.takeReady(on: tx) {
            guard let e = try? EventValidator.shared.decode(Array(r.eventJSON.utf8)) else { continue }
            let message = KafkaMessage(topic: "pending", partition: 0, offset: r.id, key: nil, value: [])
            events.append((r.id, IncomingEvent(event: e, message: message)))
        }
        guard !events.isEmpty else { return 0 }
        _ = try await apply(events.sorted { $0.0 < $1.0 }.map(\.1), in: tx, outbox: &outbox, now: now, logger: logger)
        logger.info("applied lifecycle events that arrived before their plan", metadata: ["count": "\(events.count)"])
        return events.count
    }

    /// Finds the open case an appointment books: by plan_id, else the patient's most
    /// recent open case at the location whose procedures overlap the appointment's.
    func booked(_ c: Change, _ a: AppointmentChanged, in tx: PostgresConnection, now: Date) async throws {
        var found = try await PlansRepository.openCaseBooked(
            organizationID: a.organizationID, planID: a.planID, locationID: a.locationID, patientID: a.patientID,
            procedureCodes: a.procedureCodes ?? [], on: tx)
        // The PMS names its own plan; a later visit's case is PlanRouter's follow-up of it. Not when this
        // appointment already booked a case (a re-poll, its completion, PlanRouter's own write-back): a
        // series visit's follow-up is open while the previous visit's appointment is still being reported.
        if found == nil, let parent = a.planID,
            try await PlansRepository.bookedByAppointment(organizationID: a.organizationID, appointmentID: a.appointmentID, on: tx) == nil,
            let followUp = try await VisitsRepository.openFollowUp(organizationID: a.organizationID, parentPlanID: parent, on: tx)
        {
            found = try await PlansRepository.openCaseBooked(
                organizationID: a.organizationID, planID: followUp, locationID: a.locationID, patientID: a.patientID,
                procedureCodes: a.procedureCodes ?? [], on: tx)
        }
        guard let (plan, acceptedAt) = found else {
            try await history(c, kind: "pms_appointment_unmatched", detail: [:], in: tx, now: now, plan: a.planID ?? "")
            return
        }
        let key = PlanKey(organizationID: a.organizationID, planID: plan)
        guard try await close(key, status: .booked, reason: "booked_in_pms", in: tx, now: now) else { return }
        try await history(
            c, kind: "booked",
            detail: [
                "via": "pms", "appointment_id": .string(a.appointmentID), "appointment_start": .string(RFC3339.format(a.start)),
                "seconds_from_acceptance": .int(Int64(now.timeIntervalSince(acceptedAt).rounded())),
            ], in: tx, now: now, plan: plan)
        try await SeriesVisits.booked(
            key, start: a.start, appointmentID: a.appointmentID, source: c.incoming.event.source, eventID: c.incoming.event.id, now: now,
            on: tx)
    }

    /// A completed appointment of a plan split into visits schedules the plan's next visit, due its
    /// rule's interval after the completed appointment's start (docs/rules.md#visits).
    func visitCompleted(_ c: Change, _ a: AppointmentChanged, in tx: PostgresConnection, now: Date) async throws {
        // The case this appointment booked (a follow-up's, when the PMS names the parent plan), else the plan it names.
        let planID =
            try await PlansRepository.bookedByAppointment(organizationID: a.organizationID, appointmentID: a.appointmentID, on: tx)?.planID
            ?? a.planID
        guard let planID,
            let next = try await VisitsRepository.scheduleNext(
                organizationID: a.organizationID, completedPlanID: planID, completedAt: a.start, now: now, on: tx)
        else { return }
        try await history(
            c, kind: "visit_scheduled",
            detail: [
                "visit_number": .int(Int64(next.number)), "completed_plan_id": .string(planID),
                "appointment_id": .string(a.appointmentID), "due_at": .string(RFC3339.format(next.dueAt)),
            ], in: tx, now: now, plan: next.key.planID)
    }

    /// A cancelled (or broken: a no-show) appointment that had booked a case gives the case back to a coordinator:
    /// the appointment that booked it, or, where no PMS appointment stands for a PlanRouter booking yet, the
    /// appointment naming the case's plan at the booking's start.
    func reopen(_ c: Change, _ a: AppointmentChanged, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date) async throws {
        var booked = try await PlansRepository.bookedByAppointment(organizationID: a.organizationID, appointmentID: a.appointmentID, on: tx)
        if booked == nil, let plan = a.planID {
            booked = try await PlansRepository.bookedUnlinked(organizationID: a.organizationID, planID: plan, start: a.start, on: tx)
        }
        guard
            let booked,
            let reopened = try await PlansRepository.transition([(booked, .escalated)], from: [.booked], now: now, on: tx).first
        else { return }
        let reason = "the booked appointment was \(a.status.rawValue) in the PMS"
        let created = try await TasksRepository.insertReopened(
            reopened.key, locationID: reopened.locationID, coordinatorID: reopened.coordinatorID, reason: reason,
            appointmentID: a.appointmentID,
            now: now, on: tx)
        outbox.append(
            CloudEvent(
                id: "task-\(created.id)", source: "planrouter/escalation", time: now, subject: reopened.key.planID, data: created.task),
            topic: topics[.coordinatorTasks])
        try await history(c, kind: "reopened", detail: ["reason": .string(reason)], in: tx, now: now, plan: reopened.key.planID)
        // A paid deposit is not refunded automatically: a coordinator decides (docs/payments.md).
        if let d = try await DepositsRepository.latest(reopened.key, on: tx), d.status == .paid {
            try await CaseTasks.create(
                reopened.key, kind: .depositRefund,
                reason: "the booked appointment was \(a.status.rawValue) in the PMS and the patient paid a deposit of "
                    + "\(MessageTemplates.dollars(d.amountCents)); refund it in Stripe or keep it for the rebooking",
                urgent: true, extraContext: .object(["deposit_id": .string(d.depositID), "amount_cents": .int(d.amountCents)]),
                source: "planrouter/escalation", topics: topics, outbox: &outbox, now: now, on: tx)
        }
    }

    /// Closes an open case: status, ladder cancelled, holds released, open tasks cancelled. False if it was not open.
    func close(_ key: PlanKey, status: CaseStatus, reason: String, in tx: PostgresConnection, now: Date) async throws -> Bool {
        // A case that is not open any more (booked, closed) stays as it is: not an error, the PMS said it twice.
        guard try await !PlansRepository.transition([(key, status)], from: CaseStatus.open, now: now, on: tx).isEmpty else { return false }
        try await CaseWithdrawal.withdraw([key], holdReason: reason, taskOutcome: reason, now: now, on: tx)
        return true
    }

    func history(_ c: Change, kind: String, detail: JSONObject, in tx: PostgresConnection, now: Date, plan: String? = nil) async throws {
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: c.organizationID, planID: plan ?? c.planID ?? "", locationID: c.locationID, kind: kind,
                    source: c.incoming.event.source, eventID: c.incoming.event.id, occurredAt: c.changedAt, detail: .object(detail))
            ], recordedAt: now, on: tx)
    }
}
