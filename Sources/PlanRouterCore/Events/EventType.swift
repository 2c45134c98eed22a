/// Every event type of the contract, its CloudEvents `type`, default topic and schema file.
public enum EventType: String, Sendable, CaseIterable {
    case planAccepted = "plan.accepted"
    case planChanged = "plan.changed"
    case planPresented = "plan.presented"
    case appointmentChanged = "appointment.changed"
    case scheduleChanged = "schedule.changed"
    case planClassified = "plan.classified"
    case patientMessages = "patient.messages"
    case depositRequests = "payments.deposit-requests"
    case coordinatorTasks = "coordinator.tasks"
    case appointmentRequests = "pms.appointment-requests"

    /// The short name, also the default topic name and the schema file stem.
    public var name: String { rawValue }
    /// The CloudEvents `type` attribute, e.g. `planrouter.plan.accepted.v1`.
    public var cloudEventType: String { "planrouter.\(rawValue).v1" }
    public var schemaFile: String { "\(rawValue).v1.json" }
    public var dataSchemaURI: String { "https://planrouter.dev/schemas/\(schemaFile)" }

    public init?(cloudEventType: String) {
        guard let t = EventType.allCases.first(where: { $0.cloudEventType == cloudEventType }) else { return nil }
        self = t
    }

    /// Accepts `plan.accepted` or `planrouter.plan.accepted.v1`.
    public init?(anyName: String) {
        if let t = EventType(rawValue: anyName) ?? EventType(cloudEventType: anyName) { self = t } else { return nil }
    }
}

/// Topic names, each overridable; defaults are the event type names of DESIGN.md.
public struct TopicNames: Sendable, Hashable {
    public var overrides: [EventType: String]
    public init(overrides: [EventType: String] = [:]) { self.overrides = overrides }
    public subscript(type: EventType) -> String { overrides[type] ?? type.name }
    /// The dead-letter topic of a topic.
    public static func deadLetter(of topic: String) -> String { topic + ".dlq" }
    /// Every topic the system uses, dead-letter topics included.
    public var all: [String] {
        EventType.allCases.flatMap { [self[$0], TopicNames.deadLetter(of: self[$0])] }
    }
}
