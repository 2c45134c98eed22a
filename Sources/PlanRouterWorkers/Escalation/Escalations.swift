import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The last step of every ladder: a coordinator task with the case's full context.
enum Escalations {
    static func createTasks(
        for timers: [DueTimer], in tx: PostgresConnection, outbox: inout OutboxBatch, topics: TopicNames, now: Date
    ) async throws {
        // Only cases still waiting for a booking escalate; the others moved on (booked, closed, started over).
        let escalated = try await PlansRepository.transition(timers.map { ($0.key, .escalated) }, from: [.offered], now: now, on: tx)
        let tasks = try await TasksRepository.createEscalationTasks(for: escalated.map(\.key), now: now, on: tx)
        var history: [PlanEventRow] = []
        for t in tasks {
            outbox.append(
                CloudEvent(id: "task-\(t.id)", source: "planrouter/escalation", time: now, subject: t.task.planID, data: t.task),
                topic: topics[.coordinatorTasks])
            history.append(
                PlanEventRow(
                    organizationID: t.task.organizationID, planID: t.task.planID, locationID: t.task.locationID, kind: "escalated",
                    occurredAt: now,
                    detail: .object(["task_id": .int(t.id), "reason": .string(t.task.reason)])))
        }
        try await PlanEventsRepository.append(history, recordedAt: now, on: tx)
    }
}
