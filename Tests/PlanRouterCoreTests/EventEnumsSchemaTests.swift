import Foundation
import PlanRouterCore
import Testing

/// The enums the handlers switch over are exactly the schemas' value sets, so a decoded
/// event never carries a value the code has no case for, and every case can be published.
@Suite struct EventEnumsSchemaTests {
    /// The `enum` of a top-level member of a shipped data schema.
    func schemaEnum(_ type: EventType, _ member: String) throws -> Set<String> {
        let schema = try JSONParser.parse(Array(try SchemaFiles.text(of: type.schemaFile).utf8))
        let values = try #require(schema["properties"]?[member]?["enum"]?.arrayValue, "\(type.name) \(member)")
        return Set(values.compactMap(\.stringValue))
    }

    func raw<E: RawRepresentable & CaseIterable>(_: E.Type) -> Set<String> where E.RawValue == String { Set(E.allCases.map(\.rawValue)) }

    @Test func enumsMatchTheSchemas() throws {
        #expect(try schemaEnum(.coordinatorTasks, "kind") == raw(TaskKind.self))
        #expect(try schemaEnum(.planClassified, "path") == raw(CasePath.self))
        #expect(try schemaEnum(.planChanged, "change") == raw(PlanChange.self))
        #expect(try schemaEnum(.appointmentChanged, "status") == raw(AppointmentStatus.self))
        #expect(try schemaEnum(.patientMessages, "kind") == raw(MessageKind.self))
        #expect(try schemaEnum(.patientMessages, "channel") == raw(MessageChannel.self))
    }

    /// A task's kind is a `TaskKind`: decoding names the member when it is none of them.
    @Test func coordinatorTaskKindIsTyped() throws {
        let task = CoordinatorTask(
            taskID: "7", organizationID: "org-1", locationID: "loc-1", planID: "tp-1", ownerID: "tc-1", kind: .noAvailability,
            urgent: false,
            reason: "no opening in the horizon", createdAt: Date(timeIntervalSince1970: 1_796_000_000), context: [:])
        #expect(task.data["kind"] == "no_availability")
        #expect(try CoordinatorTask(data: task.data).kind == .noAvailability)
        var other = try #require(task.data.objectValue)
        other["kind"] = "follow_up"
        #expect(throws: EventRejection.self) { try CoordinatorTask(data: .object(other)) }
        do {
            _ = try CoordinatorTask(data: .object(other))
        } catch {
            #expect(error.kind == .invalidData)
            #expect(error.reason.hasPrefix("/data/kind"))
        }
    }

    /// The classifier's verdict carries the tier and role as types; the event writes their raw values.
    @Test func classificationIsTyped() throws {
        let plan = try PlanAccepted(data: Fixtures.botox)
        let c = Classifier.classify(plan, rules: .defaults, rulesVersion: 0)
        #expect(c.tier == .aesthetic)
        #expect(c.providerRole == .injector)
        let event = PlanClassified(plan: plan, classification: c, classifiedAt: Date(timeIntervalSince1970: 1_796_000_000))
        #expect(event.data["tier"] == "aesthetic" && event.data["provider_role"] == "injector")
        #expect(EventValidator.shared.validate(event) == [])
    }
}
