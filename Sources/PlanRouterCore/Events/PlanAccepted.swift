import Foundation

/// `plan.accepted`: a patient accepted a treatment plan (from PMS connectors).
public struct PlanAccepted: EventData {
    public static let eventType = EventType.planAccepted
    public typealias Procedure = PlanProcedure

    /// `patient.preferences`.
    public struct Preferences: JSONObjectCoding {
        public var timesOfDay: [TimeOfDay]?
        public var weekdays: [Weekday]?

        public init(timesOfDay: [TimeOfDay]? = nil, weekdays: [Weekday]? = nil) {
            self.timesOfDay = timesOfDay
            self.weekdays = weekdays
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            timesOfDay = try r.optionalArray("times_of_day") { i throws(EventRejection) in try i.asString(as: TimeOfDay.self) }
            weekdays = try r.optionalArray("weekdays") { i throws(EventRejection) in try i.asString(as: Weekday.self) }
        }

        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("times_of_day", timesOfDay)
            b.set("weekdays", weekdays)
            return b.value
        }
    }

    /// `patient` (PHI: contact details; never logged, never put on outgoing events other than patient.messages).
    public struct Patient: JSONObjectCoding {
        public var id: String
        public var firstName: String
        /// E.164.
        public var phone: String?
        public var email: String?
        /// `preferred_channel`.
        public var preferred: PreferredChannel
        public var smsConsent: Bool
        /// Email is used unless this is `false`.
        public var emailConsent: Bool?
        /// `still_in_office`; true selects the same-visit path.
        public var inOffice: Bool?
        public var preferences: Preferences?

        public init(
            id: String, firstName: String, phone: String? = nil, email: String? = nil, preferred: PreferredChannel, smsConsent: Bool,
            emailConsent: Bool? = nil, inOffice: Bool? = nil, preferences: Preferences? = nil
        ) {
            self.id = id
            self.firstName = firstName
            self.phone = phone
            self.email = email
            self.preferred = preferred
            self.smsConsent = smsConsent
            self.emailConsent = emailConsent
            self.inOffice = inOffice
            self.preferences = preferences
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            id = try r.string("id")
            firstName = try r.string("first_name")
            phone = try r.optionalString("phone")
            email = try r.optionalString("email")
            preferred = try r.string("preferred_channel", as: PreferredChannel.self)
            smsConsent = try r.bool("sms_consent")
            emailConsent = try r.optionalBool("email_consent")
            inOffice = try r.optionalBool("still_in_office")
            if let p = try r.optionalObject("preferences") { preferences = try Preferences(p) } else { preferences = nil }
        }

        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("id", id)
            b.set("first_name", firstName)
            b.set("phone", phone)
            b.set("email", email)
            b.set("preferred_channel", preferred)
            b.set("sms_consent", smsConsent)
            b.set("email_consent", emailConsent)
            b.set("still_in_office", inOffice)
            b.set("preferences", preferences)
            return b.value
        }
    }

    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var acceptedAt: Date
    /// `acceptance_source`.
    public var acceptedVia: AcceptanceSource
    public var patient: Patient
    /// The treating provider.
    public var providerID: String
    /// The escalation owner; the location's default coordinator when nil.
    public var coordinatorID: String?
    public var procedures: [Procedure]
    public var totalFeeCents: Int64
    public var patientPortionCents: Int64?
    /// Set only on a later visit PlanRouter routes (`visit`); nil on every connector's acceptance.
    public var visit: FollowUpVisit?

    public init(
        organizationID: String, locationID: String, planID: String, acceptedAt: Date, acceptedVia: AcceptanceSource, patient: Patient,
        providerID: String, coordinatorID: String? = nil, procedures: [Procedure], totalFeeCents: Int64, patientPortionCents: Int64? = nil,
        visit: FollowUpVisit? = nil
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.acceptedAt = acceptedAt
        self.acceptedVia = acceptedVia
        self.patient = patient
        self.providerID = providerID
        self.coordinatorID = coordinatorID
        self.procedures = procedures
        self.totalFeeCents = totalFeeCents
        self.patientPortionCents = patientPortionCents
        self.visit = visit
    }

    /// Reads a data object that already passed the plan.accepted schema.
    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        acceptedAt = try r.date("accepted_at")
        acceptedVia = try r.string("acceptance_source", as: AcceptanceSource.self)
        patient = try Patient(try r.object("patient"))
        providerID = try r.string("provider_id")
        coordinatorID = try r.optionalString("coordinator_id")
        procedures = try r.array("procedures") { p throws(EventRejection) in try Procedure(p) }
        totalFeeCents = try r.int64("total_fee_cents")
        patientPortionCents = try r.optionalInt64("patient_portion_cents")
        if let v = try r.optionalObject("visit") { visit = try FollowUpVisit(v) } else { visit = nil }
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("accepted_at", acceptedAt)
        b.set("acceptance_source", acceptedVia)
        b.set("patient", patient)
        b.set("provider_id", providerID)
        b.set("coordinator_id", coordinatorID)
        b.set("procedures", procedures)
        b.set("total_fee_cents", totalFeeCents)
        b.set("patient_portion_cents", patientPortionCents)
        b.set("visit", visit)
        return b.value
    }

    /// Reads a `procedures` array (of plan.accepted or plan.changed); nil reads as none.
    public static func procedures(_ v: JSONValue?) throws(EventRejection) -> [Procedure] {
        guard let v else { return [] }
        return try JSONReader(v, path: "/data/procedures").asArray { p throws(EventRejection) in try Procedure(p) }
    }
}
