/// A plan (a case) by its identity: plan ids are unique within an organization.
public struct PlanKey: Sendable, Hashable, Comparable {
    public var organizationID: String
    public var planID: String

    public init(organizationID: String, planID: String) {
        self.organizationID = organizationID
        self.planID = planID
    }

    public static func < (a: PlanKey, b: PlanKey) -> Bool {
        (a.organizationID, a.planID) < (b.organizationID, b.planID)
    }
}

/// An event by its identity: ids are unique per source (the CloudEvents rule).
public struct EventKey: Sendable, Hashable {
    public var source: String
    public var id: String

    public init(source: String, id: String) {
        self.source = source
        self.id = id
    }
}
