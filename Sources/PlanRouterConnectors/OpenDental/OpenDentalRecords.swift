import Foundation
import PlanRouterCore

/// A record that is not the documented shape: dead-lettered with its table and key, never
/// with its contents (they may carry patient data).
public struct MalformedRecord: Error, Sendable, CustomStringConvertible {
    public var table: String
    public var key: String
    public var reason: String
    public var description: String { "\(table) \(key): \(reason)" }
}

// Open Dental writes some numbers as strings (ScheduleNum, ProcFee) and booleans as "true"/"false";
// these readers take both forms, as its examples show them.
extension JSONValue {
    func odInt(_ k: String) -> Int64? { self[k]?.int64Value ?? self[k]?.stringValue.flatMap { Int64($0) } }
    func odDouble(_ k: String) -> Double? {
        switch self[k] {
        case .int(let i): Double(i)
        case .double(let d): d
        case .string(let s): Double(s)
        default: nil
        }
    }
    func odString(_ k: String) -> String? { self[k]?.stringValue }
    func odTime(_ k: String) -> LocalTimestamp? { self[k]?.stringValue.flatMap(LocalTimestamp.init) }
}

/// Money in integer cents from the API's decimal dollars.
func cents(_ dollars: Double) -> Int64 { Int64((dollars * 100).rounded()) }

struct ODTreatPlanRecord: Sendable {
    var num: Int64
    var patNum: Int64
    /// "Saved", "Active" or "Inactive".
    var status: String
    var edited: LocalTimestamp
    /// nil when unsigned (`0001-01-01 00:00:00`).
    var signed: LocalTimestamp?

    init(_ v: JSONValue) throws(MalformedRecord) {
        guard let num = v.odInt("TreatPlanNum") else { throw MalformedRecord(table: "treatplan", key: "?", reason: "no TreatPlanNum") }
        func bad(_ r: String) -> MalformedRecord { MalformedRecord(table: "treatplan", key: String(num), reason: r) }
        guard let pat = v.odInt("PatNum"), pat > 0 else { throw bad("no PatNum") }
        guard let status = v.odString("TPStatus"), ["Saved", "Active", "Inactive"].contains(status) else {
            throw bad("TPStatus not Saved/Active/Inactive")
        }
        guard let edited = v.odTime("SecDateTEdit") else { throw bad("SecDateTEdit not yyyy-MM-dd HH:mm:ss") }
        self.num = num
        patNum = pat
        self.status = status
        self.edited = edited
        let signed = v.odTime("DateTSigned")
        self.signed = signed.flatMap { $0.isUnset ? nil : $0 }
    }
}

/// One procedure line of a plan, from a Saved plan's proctp or an Active plan's attached procedurelog.
struct ODPlanLine: Sendable, Hashable {
    /// The procedurelog's ProcNum (ProcNumOrig of a proctp).
    var procNum: Int64
    var code: String
    var descript: String
    var feeCents: Int64
    var patientCents: Int64?
    var provNum: Int64
    var clinicNum: Int64
    var tooth: String
    var surface: String
    /// "TP", "C", "D", "TPi", …; proctps are copies that do not change.
    var status: String
    var plannedAptNum: Int64

    /// A Saved plan's copy (https://opendental.com/site/apiproctps.html).
    init(procTP v: JSONValue) throws(MalformedRecord) {
        let key = v.odInt("ProcTPNum").map(String.init) ?? "?"
        func bad(_ r: String) -> MalformedRecord { MalformedRecord(table: "proctp", key: key, reason: r) }
        guard let orig = v.odInt("ProcNumOrig") else { throw bad("no ProcNumOrig") }
        guard let code = v.odString("ProcCode"), !code.isEmpty else { throw bad("no ProcCode") }
        guard let fee = v.odDouble("FeeAmt"), fee >= 0 else { throw bad("FeeAmt missing or negative") }
        procNum = orig
        self.code = code
        descript = v.odString("Descript") ?? code
        feeCents = cents(fee)
        patientCents = v.odDouble("PatAmt").map(cents)
        provNum = v.odInt("ProvNum") ?? 0
        clinicNum = v.odInt("ClinicNum") ?? 0
        tooth = v.odString("ToothNumTP") ?? ""
        surface = v.odString("Surf") ?? ""
        status = "TP"
        plannedAptNum = 0
    }

    /// A procedurelog (https://opendental.com/site/apiprocedurelogs.html).
    init(procedure v: JSONValue) throws(MalformedRecord) {
        guard let num = v.odInt("ProcNum") else { throw MalformedRecord(table: "procedurelog", key: "?", reason: "no ProcNum") }
        func bad(_ r: String) -> MalformedRecord { MalformedRecord(table: "procedurelog", key: String(num), reason: r) }
        guard let code = v.odString("procCode"), !code.isEmpty else { throw bad("no procCode") }
        guard let fee = v.odDouble("ProcFee"), fee >= 0 else { throw bad("ProcFee missing or negative") }
        procNum = num
        self.code = code
        descript = v.odString("descript") ?? code
        feeCents = cents(fee)
        patientCents = nil
        provNum = v.odInt("ProvNum") ?? 0
        clinicNum = v.odInt("ClinicNum") ?? 0
        tooth = v.odString("ToothNum") ?? ""
        surface = v.odString("Surf") ?? ""
        status = v.odString("ProcStatus") ?? ""
        plannedAptNum = v.odInt("PlannedAptNum") ?? 0
    }

    /// Deleted (D) and inactive treatment-planned (TPi) procedures are no longer part of the plan.
    var isLive: Bool { status != "D" && status != "TPi" }
}

struct ODAppointmentRecord: Sendable {
    var num: Int64
    var patNum: Int64
    var status: String
    var pattern: String
    var op: Int64
    var note: String
    var provNum: Int64
    var start: LocalTimestamp
    var clinicNum: Int64
    var stamp: LocalTimestamp

    init(_ v: JSONValue) throws(MalformedRecord) {
        guard let num = v.odInt("AptNum") else { throw MalformedRecord(table: "appointment", key: "?", reason: "no AptNum") }
        func bad(_ r: String) -> MalformedRecord { MalformedRecord(table: "appointment", key: String(num), reason: r) }
        guard let pat = v.odInt("PatNum") else { throw bad("no PatNum") }
        guard let status = v.odString("AptStatus") else { throw bad("no AptStatus") }
        guard let start = v.odTime("AptDateTime") else { throw bad("AptDateTime not yyyy-MM-dd HH:mm:ss") }
        guard let stamp = v.odTime("DateTStamp") else { throw bad("DateTStamp not yyyy-MM-dd HH:mm:ss") }
        let pattern = v.odString("Pattern") ?? ""
        guard pattern.allSatisfy({ $0 == "X" || $0 == "/" }), pattern.count <= 144 else {
            throw bad("Pattern is not X and / in 5-minute units")
        }
        self.num = num
        patNum = pat
        self.status = status
        self.pattern = pattern
        op = v.odInt("Op") ?? 0
        note = v.odString("Note") ?? ""
        provNum = v.odInt("ProvNum") ?? 0
        self.start = start
        clinicNum = v.odInt("ClinicNum") ?? 0
        self.stamp = stamp
    }
}

/// The patient fields an acceptance needs (https://opendental.com/site/apipatients.html).
struct ODPatientRecord: Sendable {
    var patNum: Int64
    var firstName: String
    var wirelessPhone: String
    var email: String
    var txtMsgOk: String
    var preferContactMethod: String
    var clinicNum: Int64

    init(_ v: JSONValue) throws(MalformedRecord) {
        guard let num = v.odInt("PatNum") else { throw MalformedRecord(table: "patient", key: "?", reason: "no PatNum") }
        guard let first = v.odString("FName"), !first.isEmpty else {
            throw MalformedRecord(table: "patient", key: String(num), reason: "no FName")
        }
        patNum = num
        firstName = first
        wirelessPhone = v.odString("WirelessPhone") ?? ""
        email = v.odString("Email") ?? ""
        txtMsgOk = v.odString("TxtMsgOk") ?? "Unknown"
        preferContactMethod = v.odString("PreferContactMethod") ?? "None"
        clinicNum = v.odInt("ClinicNum") ?? 0
    }

    /// E.164 for North American numbers (10 digits, or 11 starting with 1); nil otherwise.
    var phoneE164: String? {
        let digits = wirelessPhone.filter(\.isNumber)
        if digits.count == 10 { return "+1" + digits }
        if digits.count == 11, digits.first == "1" { return "+" + digits }
        return nil
    }

    var emailAddress: String? {
        let e = email.trimmingCharacters(in: .whitespaces)
        guard let at = e.firstIndex(of: "@"), e[at...].contains("."), !e.contains(" ") else { return nil }
        return e
    }

    /// Texting needs an explicit yes: "Unknown" is not consent.
    var smsConsent: Bool { txtMsgOk == "Yes" }

    var preferredChannel: PreferredChannel {
        switch preferContactMethod {
        case "TextMessage", "WirelessPh": if phoneE164 != nil { return .sms }
        case "Email": if emailAddress != nil { return .email }
        case "HmPhone", "WkPhone": return .phone
        default: break
        }
        if phoneE164 != nil && smsConsent { return .sms }
        if emailAddress != nil { return .email }
        return phoneE164 != nil ? .phone : .none
    }
}
