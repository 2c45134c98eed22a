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
    let topics: TopicNames

    public init(consumerName: String = "planrouter-escalation", topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
    }

    static let openStatuses = ["accepted", "offered", "escalated"]

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
                let status = ["declined": "declined", "cancelled": "cancelled", "acceptance_revoked": "revoked"][change]
                guard let status else {
                    // Modified plans are re-classified by the classifier (a later stage); recorded here.
                    try await history(e, kind: "plan_\(change)", detail: [:], in: tx, now: now)
                    continue
                }
                let closed = try await close(
                    organization: d["organization_id"]!.stringValue!, plan: d["plan_id"]!.stringValue!, status: status,
                    reason: "plan \(change) in the PMS", in: tx, now: now)
                try await history(e, kind: closed ? status : "\(status)_ignored", detail: ["reason": .string(d["reason"]?.stringValue ?? change)], in: tx, now: now)
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
        let rows = try await tx.query(
            "SELECT organization_id, plan_id FROM plans WHERE (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            named.map { $0.event.data["organization_id"]!.stringValue! }, named.map { $0.event.data["plan_id"]!.stringValue! })
        var known = Set<String>()
        for r in rows { known.insert(try r.decode(0, as: String.self) + "\u{1F}" + (try r.decode(1, as: String.self))) }
        var rest: [IncomingEvent] = []
        var kept: [IncomingEvent] = []
        for e in events {
            if let plan = e.event.data["plan_id"]?.stringValue, !known.contains(e.event.data["organization_id"]!.stringValue! + "\u{1F}" + plan) {
                kept.append(e)
            } else {
                rest.append(e)
            }
        }
        if !kept.isEmpty {
            _ = try await tx.execute(
                """
                INSERT INTO pending_lifecycle_events (organization_id, plan_id, event, received_at)
                SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(o, p, e), (SELECT $4::timestamptz) AS t
                """,
                kept.map { $0.event.data["organization_id"]!.stringValue! }, kept.map { $0.event.data["plan_id"]!.stringValue! },
                kept.map { PostgresJSON($0.event.json.serialized()) }, now)
        }
        return rest
    }

    /// Applies kept events whose plan now exists (run by the escalation worker each round).
    public func reconcile(in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger) async throws -> Int {
        let rows = try await tx.query(
            """
            DELETE FROM pending_lifecycle_events k USING plans p
            WHERE p.organization_id = k.organization_id AND p.plan_id = k.plan_id AND p.status <> 'accepted'
            RETURNING k.id, k.event
            """)
        var events: [(Int64, IncomingEvent)] = []
        for r in rows {
            let json = try r.decode(1, as: PostgresJSON.self)
            guard let e = try? EventValidator.shared.decode(Array(json.text.utf8)) else { continue }
            let message = KafkaMessage(topic: "pending", partition: 0, offset: try r.decode(0, as: Int64.self), key: nil, value: [])
            events.append((try r.decode(0, as: Int64.self), IncomingEvent(event: e, message: message)))
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
        let rows = try await tx.query(
            """
            SELECT p.plan_id, p.accepted_at FROM plans p
            WHERE p.organization_id = $1 AND p.status = ANY($6::text[])
              AND (p.plan_id = $2 OR ($2 IS NULL AND p.location_id = $3 AND p.patient_id = $4
                   AND (cardinality($5::text[]) = 0 OR EXISTS (SELECT 1 FROM plan_procedures pp WHERE pp.organization_id = p.organization_id
                                                              AND pp.plan_id = p.plan_id AND pp.code = ANY($5::text[])))))
            ORDER BY (p.plan_id = $2) DESC NULLS LAST, p.accepted_at DESC LIMIT 1
            """, org, d["plan_id"]?.stringValue, d["location_id"]!.stringValue!, d["patient_id"]!.stringValue!, codes, LifecycleHandler.openStatuses)
        guard let row = rows.first else {
            try await history(e, kind: "pms_appointment_unmatched", detail: [:], in: tx, now: now, plan: d["plan_id"]?.stringValue ?? "")
            return
        }
        let plan = try row.decode(0, as: String.self)
        let acceptedAt = try row.decode(1, as: Date.self)
        guard try await close(organization: org, plan: plan, status: "booked", reason: "booked_in_pms", in: tx, now: now) else { return }
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
        let rows = try await tx.query(
            """
            UPDATE plans p SET status = 'escalated', updated_at = $3
            WHERE p.organization_id = $1 AND p.status = 'booked' AND EXISTS (
                SELECT 1 FROM plan_events ev WHERE ev.organization_id = p.organization_id AND ev.plan_id = p.plan_id AND ev.kind = 'booked'
                  AND ev.detail->>'appointment_id' = $2)
            RETURNING p.plan_id, p.location_id, coalesce(p.coordinator_id, (SELECT default_coordinator_id FROM locations WHERE id = p.location_id),
                      'location:' || p.location_id)
            """, org, d["appointment_id"]!.stringValue!, now)
        guard let row = rows.first else { return }
        let plan = try row.decode(0, as: String.self)
        let location = try row.decode(1, as: String.self)
        let owner = try row.decode(2, as: String.self)
        let reason = "the booked appointment was \(d["status"]!.stringValue!) in the PMS"
        let task = try await tx.query(
            """
            INSERT INTO coordinator_tasks (organization_id, plan_id, location_id, owner_id, kind, urgent, reason, context, created_at)
            VALUES ($1, $2, $3, $4, 'escalation', true, $5, jsonb_build_object('plan_id', $2::text, 'appointment_id', $6::text, 'why', $5::text), $7)
            RETURNING id
            """, org, plan, location, owner, reason, d["appointment_id"]!.stringValue!, now)
        let id = try task[0].decode(0, as: Int64.self)
        let data: JSONObject = [
            "task_id": .string(String(id)), "organization_id": .string(org), "location_id": .string(location), "plan_id": .string(plan),
            "owner_id": .string(owner), "kind": "escalation", "urgent": true, "reason": .string(reason), "created_at": .string(RFC3339.format(now)),
            "context": .object(["plan_id": .string(plan), "appointment_id": .string(d["appointment_id"]!.stringValue!), "why": .string(reason)]),
        ]
        outbox.append(
            CloudEvent(id: "task-\(id)", source: "planrouter/escalation", type: .coordinatorTasks, time: now, subject: plan, data: .object(data)),
            topic: topics[.coordinatorTasks])
        try await history(e, kind: "reopened", detail: ["reason": .string(reason)], in: tx, now: now, plan: plan)
    }

    /// Closes an open case: status, ladder cancelled, holds released, open tasks cancelled. False if it was not open.
    func close(organization: String, plan: String, status: String, reason: String, in tx: PostgresConnection, now: Date) async throws -> Bool {
        let rows = try await tx.query(
            "UPDATE plans SET status = $3, updated_at = $4 WHERE organization_id = $1 AND plan_id = $2 AND status = ANY($5::text[]) RETURNING plan_id",
            organization, plan, status, now, LifecycleHandler.openStatuses)
        guard !rows.isEmpty else { return false }
        try await CaseWithdrawal.withdraw(
            organizations: [organization], plans: [plan], holdReason: reason, taskOutcome: reason, now: now, in: tx)
        return true
    }

    func history(_ e: IncomingEvent, kind: String, detail: JSONObject, in tx: PostgresConnection, now: Date, plan: String? = nil) async throws {
        let d = e.event.data
        _ = try await tx.execute(
            """
            INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            d["organization_id"]!.stringValue!, plan ?? d["plan_id"]?.stringValue ?? "", d["location_id"]!.stringValue!, kind, e.event.source,
            e.event.id, RFC3339.parse(d["changed_at"]!.stringValue!)!, now, PostgresJSON(JSONValue.object(detail).serialized()))
    }
}
