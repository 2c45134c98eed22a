import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A coordinator task about a case that leaves the case's status as it is (a deposit to refund,
/// a paid deposit whose booking could not be confirmed, a patient's reply): the task with the
/// case's full context, its `coordinator.tasks` event and a `task_created` plan event.
public enum CaseTasks {
    @discardableResult
    public static func create(
        _ key: PlanKey, kind: TaskKind, reason: String, urgent: Bool, extraContext: JSONValue? = nil, source: String, topics: TopicNames,
        outbox: inout OutboxBatch, now: Date, on tx: PostgresConnection
    ) async throws -> CreatedTask? {
        guard
            let t = try await TasksRepository.createEscalationTasks(
                for: [key], kind: kind, urgent: urgent, reason: String(reason.prefix(500)), extraContext: extraContext, now: now, on: tx
            ).first
        else { return nil }
        outbox.append(
            CloudEvent(id: "task-\(t.id)", source: source, time: now, subject: key.planID, data: t.task), topic: topics[.coordinatorTasks])
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: key.organizationID, planID: key.planID, locationID: t.task.locationID, kind: "task_created",
                    source: source,
                    occurredAt: now, detail: .object(["task_id": .int(t.id), "kind": .string(kind.rawValue)]))
            ], recordedAt: now, on: tx)
        return t
    }
}
