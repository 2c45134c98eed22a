import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Hands cases still waiting for a booking (`offered`) to a coordinator before their ladder
/// ends: the case moves to `escalated` (so the ladder's remaining nudges and its last step
/// leave it alone), gets a coordinator task with its full context and the reason, and an
/// `escalated` plan event; the task goes out as a coordinator.tasks event. Shared by the
/// offer planner (a re-offer with nothing that fits, a stale calendar) and the booking
/// service (a link with no valid opening left), so a case is never left alone.
public enum CaseHandOver {
    /// Returns the tasks created (cases no longer in one of `from`, `offered` by default, are left as they are).
    /// The PMS write-back hands over `booked` cases whose booking the PMS refused.
    @discardableResult
    public static func toCoordinator(
        _ keys: [PlanKey], kind: TaskKind, reason: String, urgent: Bool? = nil, source: String, topics: TopicNames,
        from: Set<CaseStatus> = [.offered], outbox: inout OutboxBatch, now: Date, on tx: PostgresConnection
    ) async throws -> [CreatedTask] {
        guard !keys.isEmpty else { return [] }
        let moved = try await PlansRepository.transition(keys.map { ($0, .escalated) }, from: from, now: now, on: tx)
        let tasks = try await TasksRepository.createEscalationTasks(
            for: moved.map(\.key), kind: kind, urgent: urgent, reason: String(reason.prefix(500)), now: now, on: tx)
        var history: [PlanEventRow] = []
        for t in tasks {
            let event = CloudEvent(id: "task-\(t.id)", source: source, time: now, subject: t.key.planID, data: t.task)
            outbox.append(event, topic: topics[.coordinatorTasks])
            history.append(
                PlanEventRow(
                    organizationID: t.key.organizationID, planID: t.key.planID, locationID: t.task.locationID, kind: "escalated",
                    source: source,
                    occurredAt: now,
                    detail: .object(["task_id": .int(t.id), "kind": .string(kind.rawValue), "reason": .string(t.task.reason)])))
        }
        try await PlanEventsRepository.append(history, recordedAt: now, on: tx)
        return tasks
    }
}
