import Foundation
import PlanRouterCore

/// A NexHealth record that is not the shape the connector reads: its kind, id and what is
/// wrong (never its contents: they may carry patient data).
struct NexHealthShapeError: Error, CustomStringConvertible {
    var record: String
    var reason: String
    var description: String { "\(record): \(reason)" }
}

/// NexHealth times are ISO 8601 with an offset, sometimes with fractions of a second.
func nexHealthTime(_ v: JSONValue?) -> Date? {
    guard let s = v?.stringValue else { return nil }
    if let d = RFC3339.parse(s) { return d }
    // Drop the fraction: `2020-06-05T20:16:57.007Z` -> `2020-06-05T20:16:57Z`.
    guard let dot = s.firstIndex(of: "."), let end = s[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) else {
        return nil
    }
    return RFC3339.parse(String(s[..<dot]) + String(s[end...]))
}

/// An amount in dollars (a number, a string, or `{"amount": …}`) as cents.
func nexHealthCents(_ v: JSONValue?) -> Int64? {
    let raw = v?["amount"] ?? v
    let dollars: Double?
    switch raw {
    case .int(let i)?: dollars = Double(i)
    case .double(let d)?: dollars = d
    case .string(let s)?: dollars = Double(s)
    default: dollars = nil
    }
    guard let dollars, dollars >= 0 else { return nil }
    return Int64((dollars * 100).rounded())
}

/// `appointment` of NexHealth's appointment objects and webhooks.
struct NHAppointment {
    var id: Int64
    var patientID: Int64
    var providerID: Int64
    var operatoryID: Int64?
    var locationID: Int64
    var start: Date
    var end: Date
    var cancelled: Bool
    var missed: Bool
    var note: String
    var updatedAt: String

    init(_ j: JSONValue) throws {
        guard let id = j["id"]?.int64Value else { throw NexHealthShapeError(record: "appointment", reason: "no id") }
        func need<T>(_ v: T?, _ field: String) throws -> T {
            guard let v else { throw NexHealthShapeError(record: "appointment \(id)", reason: "no \(field)") }
            return v
        }
        self.id = id
        patientID = try need(j["patient_id"]?.int64Value, "patient_id")
        providerID = try need(j["provider_id"]?.int64Value, "provider_id")
        operatoryID = j["operatory_id"]?.int64Value
        locationID = try need(j["location_id"]?.int64Value, "location_id")
        start = try need(nexHealthTime(j["start_time"]), "start_time")
        end = try need(nexHealthTime(j["end_time"]), "end_time")
        guard end > start else { throw NexHealthShapeError(record: "appointment \(id)", reason: "end_time not after start_time") }
        cancelled = j["cancelled"]?.boolValue ?? false
        missed = j["patient_missed"]?.boolValue ?? false
        note = j["note"]?.stringValue ?? ""
        updatedAt = j["updated_at"]?.stringValue ?? j["created_at"]?.stringValue ?? ""
    }

    var status: AppointmentStatus { cancelled ? .cancelled : missed ? .broken : .scheduled }

    /// The request id of PlanRouter's write-back, from the marker it leaves in the note.
    var writebackRequestID: String? {
        guard let r = note.range(of: WritebackWorker.markerPrefix) else { return nil }
        let id = note[r.upperBound...].prefix { !$0.isWhitespace }
        return id.isEmpty ? nil : String(id)
    }
}

/// `treatment_plan` with its procedures.
struct NHTreatmentPlan {
    struct Procedure {
        var code: String
        var name: String
        var feeCents: Int64
        var providerID: Int64?
        var locationID: Int64?
        var tooth: String?
        var surface: String?
    }

    var id: Int64
    var patientID: Int64
    var status: String
    var updatedAt: Date?
    /// Nil when the webhook carried the plan without them (a thin delivery): read the plan.
    var procedures: [Procedure]?

    init(_ j: JSONValue) throws {
        guard let id = j["id"]?.int64Value else { throw NexHealthShapeError(record: "treatment_plan", reason: "no id") }
        guard let patient = j["patient_id"]?.int64Value else {
            throw NexHealthShapeError(record: "treatment_plan \(id)", reason: "no patient_id")
        }
        self.id = id
        patientID = patient
        status = j["status"]?.stringValue ?? ""
        updatedAt = nexHealthTime(j["updated_at"])
        procedures = try j["procedures"]?.arrayValue.map { list in
            try list.map { p in
                guard let code = p["code"]?.stringValue, !code.isEmpty else {
                    throw NexHealthShapeError(record: "treatment_plan \(id)", reason: "a procedure without code")
                }
                guard let fee = nexHealthCents(p["fee"]) else {
                    throw NexHealthShapeError(record: "treatment_plan \(id)", reason: "procedure \(code): no fee or a negative one")
                }
                return Procedure(
                    code: code.uppercased(), name: p["name"]?.stringValue ?? code, feeCents: fee, providerID: p["provider_id"]?.int64Value,
                    locationID: p["location_id"]?.int64Value, tooth: p["tooth"]?.stringValue, surface: p["surface"]?.stringValue)
            }
        }
    }
}

/// The contact fields of a NexHealth patient that plan.accepted carries.
struct NHPatient {
    var firstName: String
    var phone: String?
    var email: String?

    init(_ j: JSONValue, id: Int64) throws {
        guard let first = j["first_name"]?.stringValue, !first.isEmpty else {
            throw NexHealthShapeError(record: "patient \(id)", reason: "no first_name")
        }
        firstName = first
        let raw = j["bio"]?["cell_phone_number"]?.stringValue ?? j["bio"]?["phone_number"]?.stringValue
        phone = raw.flatMap(Self.e164)
        email = j["email"]?.stringValue.flatMap { $0.contains("@") ? $0 : nil }
    }

    /// US numbers as E.164 (10 digits, or 11 starting with 1).
    static func e164(_ s: String) -> String? {
        let digits = s.filter(\.isNumber)
        if digits.count == 10 { return "+1" + digits }
        if digits.count == 11, digits.hasPrefix("1") { return "+" + digits }
        return nil
    }
}
