import Foundation

/// `plan.classified`: the classifier's verdict on an accepted plan. Ids only, no
/// patient names or contacts.
public struct PlanClassified: EventData {
    public static let eventType = EventType.planClassified

    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var patientID: String
    public var providerID: String
    public var coordinatorID: String?
    public var acceptedAt: Date
    public var classifiedAt: Date
    public var tier: Tier
    public var path: CasePath
    /// One visit's chair time.
    public var chairMinutes: Int
    public var valueCents: Int64
    /// 0 = no deposit.
    public var depositCents: Int64
    public var firstOfferSLAMinutes: Int
    /// The role the slot search requires.
    public var providerRole: ProviderRole?
    /// The organization's rules version used; 0 = the shipped defaults.
    public var rulesVersion: Int
    /// At most 60 lines of at most 300 characters (the schema's bounds).
    public var reasons: [String]

    public init(
        organizationID: String, locationID: String, planID: String, patientID: String, providerID: String, coordinatorID: String? = nil,
        acceptedAt: Date, classifiedAt: Date, tier: Tier, path: CasePath, chairMinutes: Int, valueCents: Int64, depositCents: Int64,
        firstOfferSLAMinutes: Int, providerRole: ProviderRole? = nil, rulesVersion: Int, reasons: [String]
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.patientID = patientID
        self.providerID = providerID
        self.coordinatorID = coordinatorID
        self.acceptedAt = acceptedAt
        self.classifiedAt = classifiedAt
        self.tier = tier
        self.path = path
        self.chairMinutes = chairMinutes
        self.valueCents = valueCents
        self.depositCents = depositCents
        self.firstOfferSLAMinutes = firstOfferSLAMinutes
        self.providerRole = providerRole
        self.rulesVersion = rulesVersion
        self.reasons = reasons
    }

    /// What the classifier publishes for a plan and its classification: the SLA in whole
    /// minutes (at least 1), each reason cut to the schema's 300 characters.
    public init(plan: PlanAccepted, classification c: Classification, classifiedAt: Date) {
        self.init(
            organizationID: plan.organizationID, locationID: plan.locationID, planID: plan.planID, patientID: plan.patient.id,
            providerID: plan.providerID, coordinatorID: plan.coordinatorID, acceptedAt: plan.acceptedAt, classifiedAt: classifiedAt,
            tier: c.tier, path: c.path, chairMinutes: c.chairMinutes, valueCents: c.valueCents, depositCents: c.depositCents,
            firstOfferSLAMinutes: max(1, c.firstOfferSLASeconds / 60), providerRole: c.providerRole,
            rulesVersion: c.rulesVersion, reasons: c.reasons.map { String($0.prefix(300)) })
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        patientID = try r.string("patient_id")
        providerID = try r.string("provider_id")
        coordinatorID = try r.optionalString("coordinator_id")
        acceptedAt = try r.date("accepted_at")
        classifiedAt = try r.date("classified_at")
        tier = try r.string("tier", as: Tier.self)
        path = try r.string("path", as: CasePath.self)
        chairMinutes = try r.int("chair_minutes")
        valueCents = try r.int64("value_cents")
        depositCents = try r.int64("deposit_cents")
        firstOfferSLAMinutes = try r.int("first_offer_sla_minutes")
        providerRole = try r.optionalString("provider_role", as: ProviderRole.self)
        rulesVersion = try r.int("rules_version")
        reasons = try r.array("reasons") { i throws(EventRejection) in try i.asString() }
    }

    /// Members in the order the classifier has always written them (the schema's).
    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("patient_id", patientID)
        b.set("provider_id", providerID)
        b.set("coordinator_id", coordinatorID)
        b.set("accepted_at", acceptedAt)
        b.set("classified_at", classifiedAt)
        b.set("tier", tier)
        b.set("path", path)
        b.set("chair_minutes", chairMinutes)
        b.set("value_cents", valueCents)
        b.set("deposit_cents", depositCents)
        b.set("first_offer_sla_minutes", firstOfferSLAMinutes)
        b.set("provider_role", providerRole)
        b.set("rules_version", rulesVersion)
        b.set("reasons", reasons)
        return b.value
    }
}
