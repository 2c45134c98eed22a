import Foundation

/// The typed view of a validated `plan.accepted` data object.
public struct PlanAccepted: Sendable, Hashable {
    public struct Patient: Sendable, Hashable {
        public var id: String
        public var firstName: String
        public var phone: String?
        public var email: String?
        public var preferredChannel: String
        public var smsConsent: Bool
        public var emailConsent: Bool?
        public var stillInOffice: Bool
        public var timesOfDay: [String]
        public var weekdays: [String]
    }
    public struct Procedure: Sendable, Hashable {
        public var codeSystem: String
        public var code: String
        public var description: String
        public var tooth: String?
        public var feeCents: Int64
        public var minutes: Int?
        public var providerRole: String?
        public var isCDT: Bool { codeSystem == "cdt" }
    }

    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var acceptedAt: Date
    public var acceptanceSource: String
    public var patient: Patient
    public var providerID: String
    public var coordinatorID: String?
    public var procedures: [Procedure]
    public var totalFeeCents: Int64
    public var patientPortionCents: Int64?

    /// Reads a data object that already passed the plan.accepted schema.
    public init(data d: JSONValue) throws(EventRejection) {
        func str(_ v: JSONValue?, _ name: String) throws(EventRejection) -> String {
            guard let s = v?.stringValue else { throw EventRejection(.invalidData, "/data/\(name): missing") }
            return s
        }
        organizationID = try str(d["organization_id"], "organization_id")
        locationID = try str(d["location_id"], "location_id")
        planID = try str(d["plan_id"], "plan_id")
        guard let at = d["accepted_at"]?.stringValue.flatMap(RFC3339.parse) else {
            throw EventRejection(.invalidData, "/data/accepted_at: missing")
        }
        acceptedAt = at
        acceptanceSource = try str(d["acceptance_source"], "acceptance_source")
        let p = d["patient"]
        patient = Patient(
            id: try str(p?["id"], "patient/id"),
            firstName: try str(p?["first_name"], "patient/first_name"),
            phone: p?["phone"]?.stringValue,
            email: p?["email"]?.stringValue,
            preferredChannel: p?["preferred_channel"]?.stringValue ?? "none",
            smsConsent: p?["sms_consent"]?.boolValue ?? false,
            emailConsent: p?["email_consent"]?.boolValue,
            stillInOffice: p?["still_in_office"]?.boolValue ?? false,
            timesOfDay: p?["preferences"]?["times_of_day"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            weekdays: p?["preferences"]?["weekdays"]?.arrayValue?.compactMap(\.stringValue) ?? []
        )
        providerID = try str(d["provider_id"], "provider_id")
        coordinatorID = d["coordinator_id"]?.stringValue
        procedures = try PlanAccepted.procedures(d["procedures"])
        totalFeeCents = d["total_fee_cents"]?.int64Value ?? 0
        patientPortionCents = d["patient_portion_cents"]?.int64Value
    }

    public static func procedures(_ v: JSONValue?) throws(EventRejection) -> [Procedure] {
        var out: [Procedure] = []
        for item in v?.arrayValue ?? [] {
            guard let code = item["code"]?.stringValue, let fee = item["fee_cents"]?.int64Value else {
                throw EventRejection(.invalidData, "/data/procedures: item without code or fee_cents")
            }
            out.append(
                Procedure(
                    codeSystem: item["code_system"]?.stringValue ?? "cdt",
                    code: code,
                    description: item["description"]?.stringValue ?? "",
                    tooth: item["tooth"]?.stringValue,
                    feeCents: fee,
                    minutes: item["minutes"]?.intValue,
                    providerRole: item["provider_role"]?.stringValue
                ))
        }
        return out
    }
}
