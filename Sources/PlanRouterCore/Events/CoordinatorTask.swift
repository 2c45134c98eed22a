import Foundation

/// `coordinator.tasks`: an escalated case for a treatment coordinator, with its context
/// (from the escalation and offer workers).
public struct CoordinatorTask: EventData {
    public static let eventType = EventType.coordinatorTasks

    /// The dedupe key (the `coordinator_tasks` row id as text).
    public var taskID: String
    public var organizationID: String
    public var locationID: String
    public var planID: String
    /// The coordinator: the plan's, else the location's default.
    public var ownerID: String
    /// `callback`, `no_availability`, `escalation` or `same_visit` (the schema's enum).
    public var kind: TaskKind
    public var urgent: Bool
    /// 1–500 characters.
    public var reason: String
    public var createdAt: Date
    public var dueAt: Date?
    /// Free-form: plan, procedures, value, tier, offers and messages sent, deposit, channel and consent.
    public var context: JSONObject?

    public init(
        taskID: String, organizationID: String, locationID: String, planID: String, ownerID: String, kind: TaskKind, urgent: Bool,
        reason: String, createdAt: Date, dueAt: Date? = nil, context: JSONObject? = nil
    ) {
        self.taskID = taskID
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.ownerID = ownerID
        self.kind = kind
        self.urgent = urgent
        self.reason = reason
        self.createdAt = createdAt
        self.dueAt = dueAt
        self.context = context
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        taskID = try r.string("task_id")
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        ownerID = try r.string("owner_id")
        kind = try r.string("kind", as: TaskKind.self)
        urgent = try r.bool("urgent")
        reason = try r.string("reason")
        createdAt = try r.date("created_at")
        dueAt = try r.optionalDate("due_at")
        context = try r.optionalObject("context")?.asObject()
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("task_id", taskID)
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("owner_id", ownerID)
        b.set("kind", kind)
        b.set("urgent", urgent)
        b.set("reason", reason)
        b.set("created_at", createdAt)
        b.set("due_at", dueAt)
        b.set("context", context.map(JSONValue.object))
        return b.value
    }
}
