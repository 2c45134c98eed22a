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

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        // The named cases first, in key order, as the timer workers lock them: no deadlock between the two.
        let named = events.compactMap { e in e.event.data["plan_id"]?.stringValue.map { (e.event.data["organization_id"]?.stringValue ?? "", $0) } }
        try await CaseLockRepository.lock(organizations: named.map(\.0), plans: named.map(\.1), on: tx)
        for e in try await keepEventsOfUnknownPlans(events, in: tx, now: now) {
            let d = e.event.data
            switch e.event.type {
            case .appointmentChanged:
                let status = d["status"]!.stringValue!
                if status == "scheduled" || status == "completed" {
                    try await booked(e, in: tx, now: now)
                } else {
                    try await reopen(e, in: tx, outbox: &outbox, now: now)
                }
            case .planChanged:
                let change = d["change"]!.stringValue!
                let status: CaseStatus? = ["declined": .declined, "cancelled": .cancelled, "acceptance_revoked": .revoked][change]
                guard let status else {
                    // Modified plans are re-classified by the classifier (a later stage); recorded here.
                    try await history(e, kind: "plan_\(change)", detail: [:], in: tx, now: now)
                    continue
                }
                let closed = try await close(
                    organization: d["organization_id"]!.stringValue!, plan: d["plan_id"]!.stringValue!, status: status,
                    reason: "plan \(change) in the PMS", in: tx, now: now)
                try await history(e, kind: closed ? status.rawValue : "\(status.rawValue)_ignored", detail: ["reason": .string(d["reason"]?.stringValue ?? change)], in: tx, now: now)
            default:
                letters.append(DeadLetter(message: e.message, kind: "unexpected_type", reason: "not a lifecycle event"))
            }
        }
        return letters
    }

    /// Events naming a plan that does not exist yet are kept for later; returns the rest.
    func keepEventsOfUnknownPlans(_ events: [IncomingEvent], in tx: PostgresConnection, now: Date) async throws -> [IncomingEvent] {
        let named = events.filter { $0.event.data["plan_id"]?.stringValue != nil }
        guard !named.isEmpty else { return events }
        let known = try await PlansRepository.existing(
            named.map { PlanKey(organizationID: $0.event.data["organization_id"]!.stringValue!, planID: $0.event.data["plan_id"]!.stringValue!) }, on: tx)
        var rest: [IncomingEvent] = []
        var kept: [IncomingEvent] = []
        for e in events {
            if let plan = e.event.data["plan_id"]?.stringValue, !known.contains(PlanKey(organizationID: e.event.data["organization_id"]!.stringValue!, planID: plan)) {
                kept.append(e)
            } else {
                rest.append(e)
            }
        }
        try await PendingLifecycleRepository.keep(
            kept.map { (PlanKey(organizationID: $0.event.data["organization_id"]!.stringValue!, planID: $0.event.data["plan_id"]!.stringValue!), $0.event.json) },
            now: now, on: tx)
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
    func booked(_ e: IncomingEvent, in tx: PostgresConnection, now: Date) async throws {
        let d = e.event.data
        let org = d["organization_id"]!.stringValue!
        let codes = d["procedure_codes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard
            let (plan, acceptedAt) = try await PlansRepository.openCaseBooked(
                organizationID: org, planID: d["plan_id"]?.stringValue, locationID: d["location_id"]!.stringValue!,
                patientID: d["patient_id"]!.stringValue!, procedureCodes: codes, on: tx)
        else {
            try await history(e, kind: "pms_appointment_unmatched", detail: [:], in: tx, now: now, plan: d["plan_id"]?.stringValue ?? "")
            return
        }
        guard try await close(organization: org, plan: plan, status: .booked, reason: "booked_in_pms", in: tx, now: now) else { return }
        let start = RFC3339.parse(d["start"]!.stringValue!)!
        try await history(
            e, kind: "booked",
            detail: [
                "via": "pms", "appointment_id": .string(d["appointment_id"]!.stringValue!), "appointment_start": .string(RFC3339.format(start)),
                "seconds_from_acceptance": .int(Int64(now.timeIntervalSince(acceptedAt).rounded())),
            ], in: tx, now: now, plan: plan)
    }

    /// A cancelled appointment that had booked a case gives the case back to a coordinator.
    func reopen(_ e: IncomingEvent, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date) async throws {
        let d = e.event.data
        let org = d["organization_id"]!.stringValue!
        guard let booked = try await PlansRepository.bookedByAppointment(organizationID: org, appointmentID: d["appointment_id"]!.stringValue!, on: tx),
            let reopened = try await PlansRepository.transition([(booked, .escalated)], from: [.booked], now: now, on: tx).first
        else { return }
        let plan = reopened.key.planID
        let location = reopened.locationID
        let reason = "the booked appointment was \(d["status"]!.stringValue!) in the PMS"
        let (id, owner) = try await TasksRepository.insertReopened(
            reopened.key, locationID: location, coordinatorID: reopened.coordinatorID, reason: reason, appointmentID: d["appointment_id"]!.stringValue!,
            now: now, on: tx)
        let data: JSONObject = [
            "task_id": .string(String(id)), "organization_id": .string(org), "location_id": .string(location), "plan_id": .string(plan),
            "owner_id": .string(owner), "kind": .string(TaskKind.escalation.rawValue), "urgent": true, "reason": .string(reason), "created_at": .string(RFC3339.format(now)),
            "context": .object(["plan_id": .string(plan), "appointment_id": .string(d["appointment_id"]!.stringValue!), "why": .string(reason)]),
        ]
        outbox.append(
            CloudEvent(id: "task-\(id)", source: "planrouter/escalation", type: .coordinatorTasks, time: now, subject: plan, data: .object(data)),
            topic: topics[.coordinatorTasks])
        try await history(e, kind: "reopened", detail: ["reason": .string(reason)], in: tx, now: now, plan: plan)
    }

    /// Closes an open case: status, ladder cancelled, holds released, open tasks cancelled. False if it was not open.
    func close(organization: String, plan: String, status: CaseStatus, reason: String, in tx: PostgresConnection, now: Date) async throws -> Bool {
        let key = PlanKey(organizationID: organization, planID: plan)
        // A case that is not open any more (booked, closed) stays as it is: not an error, the PMS said it twice.
        guard try await !PlansRepository.transition([(key, status)], from: CaseStatus.open, now: now, on: tx).isEmpty else { return false }
        try await CaseWithdrawal.withdraw([key], holdReason: reason, taskOutcome: reason, now: now, on: tx)
        return true
    }

    func history(_ e: IncomingEvent, kind: String, detail: JSONObject, in tx: PostgresConnection, now: Date, plan: String? = nil) async throws {
        let d = e.event.data
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: d["organization_id"]!.stringValue!, planID: plan ?? d["plan_id"]?.stringValue ?? "",
                    locationID: d["location_id"]!.stringValue!, kind: kind, source: e.event.source, eventID: e.event.id,
                    occurredAt: RFC3339.parse(d["changed_at"]!.stringValue!)!, detail: .object(detail))
            ], recordedAt: now, on: tx)
    }
}
