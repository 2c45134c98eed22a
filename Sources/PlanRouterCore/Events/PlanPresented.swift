import Foundation

/// `plan.presented`: a treatment plan shown to a patient, accepted or not (from PMS connectors).
/// The denominator of the plan acceptance rate; it carries the patient id only, no contact.
public struct PlanPresented: EventData {
    public static let eventType = EventType.planPresented

    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var presentedAt: Date
    public var patientID: String?
    public var providerID: String?
    public var coordinatorID: String?
    public var procedures: [PlanProcedure]
    public var totalFeeCents: Int64
    public var patientPortionCents: Int64?

    public init(
        organizationID: String, locationID: String, planID: String, presentedAt: Date, patientID: String? = nil, providerID: String? = nil,
        coordinatorID: String? = nil, procedures: [PlanProcedure], totalFeeCents: Int64, patientPortionCents: Int64? = nil
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.presentedAt = presentedAt
        self.patientID = patientID
        self.providerID = providerID
        self.coordinatorID = coordinatorID
        self.procedures = procedures
        self.totalFeeCents = totalFeeCents
        self.patientPortionCents = patientPortionCents
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        presentedAt = try r.date("presented_at")
        patientID = try r.optionalString("patient_id")
        providerID = try r.optionalString("provider_id")
        coordinatorID = try r.optionalString("coordinator_id")
        procedures = try r.array("procedures") { p throws(EventRejection) in try PlanProcedure(p) }
        totalFeeCents = try r.int64("total_fee_cents")
        patientPortionCents = try r.optionalInt64("patient_portion_cents")
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("presented_at", presentedAt)
        b.set("patient_id", patientID)
        b.set("provider_id", providerID)
        b.set("coordinator_id", coordinatorID)
        b.set("procedures", procedures)
        b.set("total_fee_cents", totalFeeCents)
        b.set("patient_portion_cents", patientPortionCents)
        return b.value
    }

    /// The plan as it would be classified if accepted, for the tier of the acceptance rate. Only the
    /// tier is used: the patient (path, consent) is not part of a presentation.
    public var asAcceptance: PlanAccepted {
        PlanAccepted(
            organizationID: organizationID, locationID: locationID, planID: planID, acceptedAt: presentedAt, acceptedVia: .chair,
            patient: .init(id: patientID ?? "", firstName: "", preferred: .none, smsConsent: false), providerID: providerID ?? "",
            coordinatorID: coordinatorID, procedures: procedures, totalFeeCents: totalFeeCents, patientPortionCents: patientPortionCents)
    }
}
