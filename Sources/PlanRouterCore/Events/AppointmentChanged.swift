import Foundation

/// `appointment.changed`: an appointment booked, moved, cancelled, completed or broken in
/// the PMS (from PMS connectors). The length is the pattern's (5 minutes a character)
/// when there is one, else `lengthMinutes`.
public struct AppointmentChanged: EventData {
    public static let eventType = EventType.appointmentChanged

    public var organizationID: String
    public var locationID: String
    public var appointmentID: String
    /// When the PMS recorded this state; the latest wins per appointment.
    public var changedAt: Date
    public var status: AppointmentStatus
    public var patientID: String
    public var providerID: String
    public var operatoryID: String?
    public var start: Date
    public var lengthMinutes: Int?
    /// Open Dental style, `^[X/]{1,144}$`: `X` provider time, `/` assistant time.
    public var pattern: String?
    /// The plan this appointment books, when the PMS links them.
    public var planID: String?
    public var procedureCodes: [String]?

    public init(
        organizationID: String, locationID: String, appointmentID: String, changedAt: Date, status: AppointmentStatus, patientID: String,
        providerID: String, operatoryID: String? = nil, start: Date, lengthMinutes: Int? = nil, pattern: String? = nil,
        planID: String? = nil, procedureCodes: [String]? = nil
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.appointmentID = appointmentID
        self.changedAt = changedAt
        self.status = status
        self.patientID = patientID
        self.providerID = providerID
        self.operatoryID = operatoryID
        self.start = start
        self.lengthMinutes = lengthMinutes
        self.pattern = pattern
        self.planID = planID
        self.procedureCodes = procedureCodes
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        appointmentID = try r.string("appointment_id")
        changedAt = try r.date("changed_at")
        status = try r.string("status", as: AppointmentStatus.self)
        patientID = try r.string("patient_id")
        providerID = try r.string("provider_id")
        operatoryID = try r.optionalString("operatory_id")
        start = try r.date("start")
        lengthMinutes = try r.optionalInt("length_minutes")
        pattern = try r.optionalString("pattern")
        planID = try r.optionalString("plan_id")
        procedureCodes = try r.optionalArray("procedure_codes") { i throws(EventRejection) in try i.asString() }
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("appointment_id", appointmentID)
        b.set("changed_at", changedAt)
        b.set("status", status)
        b.set("patient_id", patientID)
        b.set("provider_id", providerID)
        b.set("operatory_id", operatoryID)
        b.set("start", start)
        b.set("length_minutes", lengthMinutes)
        b.set("pattern", pattern)
        b.set("plan_id", planID)
        b.set("procedure_codes", procedureCodes)
        return b.value
    }
}
