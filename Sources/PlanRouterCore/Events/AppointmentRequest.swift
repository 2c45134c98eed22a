import Foundation

/// `pms.appointment-requests`: an appointment booked through PlanRouter for the PMS
/// connector to write back (from the booking service).
public struct AppointmentRequest: EventData {
    public static let eventType = EventType.appointmentRequests

    /// The connector's dedupe key.
    public var requestID: String
    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var patientID: String
    public var providerID: String
    public var operatoryID: String?
    /// Written with the location's offset, e.g. `2026-12-01T08:00:00-05:00`.
    public var start: OffsetDateTime
    public var end: OffsetDateTime
    /// CDT or service codes.
    public var procedureCodes: [String]?
    public var bookedVia: BookedVia
    public var bookedAt: Date
    /// Set when the patient moved a booking (reschedule link): the request of the appointment this one
    /// replaces, so the write-back moves that PMS appointment instead of making a second one.
    public var replacesRequestID: String? = nil

    public init(
        requestID: String, organizationID: String, locationID: String, planID: String, patientID: String, providerID: String,
        operatoryID: String? = nil, start: OffsetDateTime, end: OffsetDateTime, procedureCodes: [String]? = nil, bookedVia: BookedVia,
        bookedAt: Date, replacesRequestID: String? = nil
    ) {
        self.replacesRequestID = replacesRequestID
        self.requestID = requestID
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.patientID = patientID
        self.providerID = providerID
        self.operatoryID = operatoryID
        self.start = start
        self.end = end
        self.procedureCodes = procedureCodes
        self.bookedVia = bookedVia
        self.bookedAt = bookedAt
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        requestID = try r.string("request_id")
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        patientID = try r.string("patient_id")
        providerID = try r.string("provider_id")
        operatoryID = try r.optionalString("operatory_id")
        start = try r.offsetDateTime("start")
        end = try r.offsetDateTime("end")
        procedureCodes = try r.optionalArray("procedure_codes") { i throws(EventRejection) in try i.asString() }
        bookedVia = try r.string("booked_via", as: BookedVia.self)
        bookedAt = try r.date("booked_at")
        replacesRequestID = try r.optionalString("replaces_request_id")
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("request_id", requestID)
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("patient_id", patientID)
        b.set("provider_id", providerID)
        b.set("operatory_id", operatoryID)
        b.set("start", start)
        b.set("end", end)
        b.set("procedure_codes", procedureCodes)
        b.set("booked_via", bookedVia)
        b.set("booked_at", bookedAt)
        b.set("replaces_request_id", replacesRequestID)
        return b.value
    }
}
