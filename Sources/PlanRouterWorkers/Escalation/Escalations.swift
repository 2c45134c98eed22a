import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The last step of every ladder: a coordinator task with the case's full context.
enum Escalations {
    static func createTasks(for timers: [DueTimer], in tx: PostgresConnection, outbox: inout OutboxBatch, topics: TopicNames, now: Date) async throws {
        // Only cases still waiting for a booking escalate; the others moved on (booked, closed, started over).
        let escalated = try await PlansRepository.transition(timers.map { ($0.key, .escalated) }, from: [.offered], now: now, on: tx)
        let tasks = try await TasksRepository.createEscalationTasks(for: escalated.map(\.key), now: now, on: tx)
        var history: [PlanEventRow] = []
        for t in tasks {
            let data: JSONObject = [
                "task_id": .string(String(t.id)), "organization_id": .string(t.key.organizationID),
                "location_id": .string(t.locationID), "plan_id": .string(t.key.planID),
                "owner_id": .string(t.ownerID), "kind": .string(TaskKind.escalation.rawValue), "urgent": .bool(t.urgent),
                "reason": .string(t.reason), "created_at": .string(RFC3339.format(now)), "context": t.context,
            ]
            outbox.append(
                CloudEvent(id: "task-\(t.id)", source: "planrouter/escalation", type: .coordinatorTasks, time: now, subject: t.key.planID, data: .object(data)),
                topic: topics[.coordinatorTasks])
            history.append(
                PlanEventRow(
                    organizationID: t.key.organizationID, planID: t.key.planID, locationID: t.locationID, kind: "escalated", occurredAt: now,
                    detail: .object(["task_id": .int(t.id), "reason": .string(t.reason)])))
        }
        try await PlanEventsRepository.append(history, recordedAt: now, on: tx)
    }
}
