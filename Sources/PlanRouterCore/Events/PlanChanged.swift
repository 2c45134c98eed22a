import Foundation

/// `plan.changed`: a plan declined, cancelled, modified or its acceptance revoked (from PMS connectors).
/// For `modified`, `procedures` and the amounts carry the new plan.
public struct PlanChanged: EventData {
    public static let eventType = EventType.planChanged

    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var changedAt: Date
    public var change: PlanChange
    /// Free text from the PMS.
    public var reason: String?
    public var procedures: [PlanProcedure]?
    public var totalFeeCents: Int64?
    public var patientPortionCents: Int64?

    public init(
        organizationID: String, locationID: String, planID: String, changedAt: Date, change: PlanChange, reason: String? = nil,
        procedures: [PlanProcedure]? = nil, totalFeeCents: Int64? = nil, patientPortionCents: Int64? = nil
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.changedAt = changedAt
        self.change = change
        self.reason = reason
        self.procedures = procedures
        self.totalFeeCents = totalFeeCents
        self.patientPortionCents = patientPortionCents
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        changedAt = try r.date("changed_at")
        change = try r.string("change", as: PlanChange.self)
        reason = try r.optionalString("reason")
        procedures = try r.optionalArray("procedures") { p throws(EventRejection) in try PlanProcedure(p) }
        totalFeeCents = try r.optionalInt64("total_fee_cents")
        patientPortionCents = try r.optionalInt64("patient_portion_cents")
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("changed_at", changedAt)
        b.set("change", change)
        b.set("reason", reason)
        b.set("procedures", procedures)
        b.set("total_fee_cents", totalFeeCents)
        b.set("patient_portion_cents", patientPortionCents)
        return b.value
    }
}
