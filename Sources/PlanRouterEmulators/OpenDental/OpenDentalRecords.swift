import Foundation
import PlanRouterCore

// The Open Dental tables the emulator keeps, with the field names and value conventions of
// the public API documentation (https://opendental.com/site/apispecification.html): booleans
// as "true"/"false" strings, times as office-local `yyyy-MM-dd HH:mm:ss`, money as numbers
// (ProcFee as a string, as its example shows). Each `json(in:)` renders the documented
// example response's fields in their order.

/// `patient` (https://opendental.com/site/apipatients.html).
public struct ODPatient: Sendable, Hashable {
    public var patNum: Int64
    public var lName: String
    public var fName: String
    public var wirelessPhone: String
    public var email: String
    /// "Unknown", "Yes" or "No".
    public var txtMsgOk: String
    /// e.g. "WirelessPh", "Email", "TextMessage", "HmPhone", "None".
    public var preferContactMethod: String
    /// "Patient", "Archived", "Inactive", …
    public var patStatus: String
    public var clinicNum: Int64
    public var dateTStamp: Date

    public init(
        patNum: Int64, lName: String, fName: String, wirelessPhone: String = "", email: String = "", txtMsgOk: String = "Unknown",
        preferContactMethod: String = "None", patStatus: String = "Patient", clinicNum: Int64 = 0, dateTStamp: Date = Date()
    ) {
        self.patNum = patNum
        self.lName = lName
        self.fName = fName
        self.wirelessPhone = wirelessPhone
        self.email = email
        self.txtMsgOk = txtMsgOk
        self.preferContactMethod = preferContactMethod
        self.patStatus = patStatus
        self.clinicNum = clinicNum
        self.dateTStamp = dateTStamp
    }

    func json(in zone: TimeZone) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("PatNum", patNum)
        b.set("LName", lName)
        b.set("FName", fName)
        b.set("MiddleI", "")
        b.set("Preferred", "")
        b.set("PatStatus", patStatus)
        b.set("WirelessPhone", wirelessPhone)
        b.set("Email", email)
        b.set("ClinicNum", clinicNum)
        b.set("PreferContactMethod", preferContactMethod)
        b.set("DateTStamp", LocalTimestamp(dateTStamp, in: zone).description)
        b.set("TxtMsgOk", txtMsgOk)
        return b.value
    }
}

/// `provider` (https://opendental.com/site/apiproviders.html).
public struct ODProvider: Sendable, Hashable {
    public var provNum: Int64
    public var abbr: String
    /// "true" for hygienists and other secondary providers.
    public var isSecondary: Bool
    public var isHidden: Bool
    public var dateTStamp: Date
    /// `Specialty`: the DefNum of a ProviderSpecialties definition (`ODDefinition.providerSpecialties`).
    public var specialty: Int64

    public init(
        provNum: Int64, abbr: String, isSecondary: Bool = false, isHidden: Bool = false, dateTStamp: Date = Date(), specialty: Int64? = nil
    ) {
        self.provNum = provNum
        self.abbr = abbr
        self.isSecondary = isSecondary
        self.isHidden = isHidden
        self.dateTStamp = dateTStamp
        self.specialty = specialty ?? ODDefinition.specialty(named: isSecondary ? "Hygienist" : "General")!.defNum
    }

    func json(in zone: TimeZone, server: Date) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("ProvNum", provNum)
        b.set("Abbr", abbr)
        b.set("Specialty", specialty)
        b.set("IsSecondary", isSecondary ? "true" : "false")
        b.set("IsHidden", isHidden ? "true" : "false")
        b.set("DateTStamp", LocalTimestamp(dateTStamp, in: zone).description)
        b.set("ProvStatus", "Active")
        b.set("serverDateTime", LocalTimestamp(server, in: zone).description)
        return b.value
    }
}

/// `definition` of category ProviderSpecialties (35): what a provider's `Specialty` DefNum names. Every
/// emulated office has the same list (a real office edits its own in Setup > Definitions).
public struct ODDefinition: Sendable, Hashable {
    public static let providerSpecialtiesCategory: Int64 = 35
    public static let providerSpecialties: [ODDefinition] = [
        .init(defNum: 263, itemName: "General"), .init(defNum: 264, itemName: "Hygienist"), .init(defNum: 265, itemName: "Endodontics"),
        .init(defNum: 266, itemName: "Oral Surgery"), .init(defNum: 267, itemName: "Periodontics"),
    ]

    public var defNum: Int64
    public var itemName: String

    /// The specialty definition whose name is `name` (case-insensitive).
    public static func specialty(named name: String) -> ODDefinition? {
        providerSpecialties.first { $0.itemName.lowercased() == name.lowercased() }
    }

    func json(order: Int) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("DefNum", defNum)
        b.set("Category", Self.providerSpecialtiesCategory)
        b.set("ItemOrder", order)
        b.set("ItemName", itemName)
        b.set("ItemValue", "")
        b.set("IsHidden", "false")
        return b.value
    }
}

/// `operatory` (https://opendental.com/site/apioperatories.html).
public struct ODOperatory: Sendable, Hashable {
    public var operatoryNum: Int64
    public var opName: String
    public var provDentist: Int64
    public var provHygienist: Int64
    public var clinicNum: Int64
    public var isHidden: Bool

    public init(
        operatoryNum: Int64, opName: String, provDentist: Int64 = 0, provHygienist: Int64 = 0, clinicNum: Int64 = 0, isHidden: Bool = false
    ) {
        self.operatoryNum = operatoryNum
        self.opName = opName
        self.provDentist = provDentist
        self.provHygienist = provHygienist
        self.clinicNum = clinicNum
        self.isHidden = isHidden
    }

    var json: JSONValue {
        var b = JSONObjectBuilder()
        b.set("OperatoryNum", operatoryNum)
        b.set("OpName", opName)
        b.set("Abbrev", "OP-\(operatoryNum)")
        b.set("IsHidden", isHidden ? "true" : "false")
        b.set("ProvDentist", provDentist)
        b.set("ProvHygienist", provHygienist)
        b.set("ClinicNum", clinicNum)
        return b.value
    }
}

/// `schedule` (https://opendental.com/site/apischedules.html): provider hours or a blockout.
public struct ODSchedule: Sendable, Hashable {
    public var scheduleNum: Int64
    /// `yyyy-MM-dd`.
    public var schedDate: String
    /// `HH:mm:ss`.
    public var startTime: String
    public var stopTime: String
    /// "Practice", "Provider", "Blockout", "Employee".
    public var schedType: String
    public var provNum: Int64
    public var blockoutType: Int64
    /// The blockout definition's name, e.g. "Do not schedule", "Crown only".
    public var blockoutName: String
    public var operatories: [Int64]
    public var dateTStamp: Date
    public var note: String

    public init(
        scheduleNum: Int64, schedDate: String, startTime: String, stopTime: String, schedType: String, provNum: Int64 = 0,
        blockoutType: Int64 = 0, blockoutName: String = "", operatories: [Int64] = [], dateTStamp: Date = Date(), note: String = ""
    ) {
        self.note = note
        self.scheduleNum = scheduleNum
        self.schedDate = schedDate
        self.startTime = startTime
        self.stopTime = stopTime
        self.schedType = schedType
        self.provNum = provNum
        self.blockoutType = blockoutType
        self.blockoutName = blockoutName
        self.operatories = operatories
        self.dateTStamp = dateTStamp
    }

    // The documented example gives the numbers of a schedule as strings.
    func json(in zone: TimeZone) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("ScheduleNum", String(scheduleNum))
        b.set("SchedDate", schedDate)
        b.set("StartTime", startTime)
        b.set("StopTime", stopTime)
        b.set("SchedType", schedType)
        b.set("ProvNum", String(provNum))
        b.set("BlockoutType", String(blockoutType))
        b.set("blockoutType", blockoutName)
        b.set("Note", note)
        b.set("operatories", operatories.map(String.init).joined(separator: ","))
        b.set("EmployeeNum", "0")
        b.set("DateTStamp", LocalTimestamp(dateTStamp, in: zone).description)
        return b.value
    }
}

/// `treatplan` (https://opendental.com/site/apitreatplans.html).
public struct ODTreatPlan: Sendable, Hashable {
    public var treatPlanNum: Int64
    public var patNum: Int64
    public var heading: String
    /// "Saved", "Active" or "Inactive".
    public var tpStatus: String
    public var secDateTEdit: Date
    /// nil: not signed (`0001-01-01 00:00:00`).
    public var dateTSigned: Date?

    public init(treatPlanNum: Int64, patNum: Int64, heading: String, tpStatus: String, secDateTEdit: Date, dateTSigned: Date? = nil) {
        self.treatPlanNum = treatPlanNum
        self.patNum = patNum
        self.heading = heading
        self.tpStatus = tpStatus
        self.secDateTEdit = secDateTEdit
        self.dateTSigned = dateTSigned
    }

    func json(in zone: TimeZone) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("TreatPlanNum", treatPlanNum)
        b.set("PatNum", patNum)
        b.set("DateTP", LocalTimestamp(secDateTEdit, in: zone).dateText)
        b.set("Heading", heading)
        b.set("Note", "")
        b.set("ResponsParty", Int64(0))
        b.set("DocNum", Int64(0))
        b.set("TPStatus", tpStatus)
        b.set("SecDateTEdit", LocalTimestamp(secDateTEdit, in: zone).description)
        b.set("TPType", "Insurance")
        b.set("DateTSigned", dateTSigned.map { LocalTimestamp($0, in: zone) }?.description ?? LocalTimestamp.unset.description)
        b.set("DateTPracticeSigned", LocalTimestamp.unset.description)
        b.set("SignatureText", "")
        b.set("SignaturePracticeText", "")
        b.set("isSigned", dateTSigned == nil ? "false" : "true")
        return b.value
    }
}

/// `proctp`, a Saved plan's copy of a procedure (https://opendental.com/site/apiproctps.html).
public struct ODProcTP: Sendable, Hashable {
    public var procTPNum: Int64
    public var treatPlanNum: Int64
    public var patNum: Int64
    public var procNumOrig: Int64
    public var itemOrder: Int64
    public var toothNumTP: String
    public var surf: String
    public var procCode: String
    public var descript: String
    public var feeAmt: Double
    public var priInsAmt: Double
    public var patAmt: Double
    public var provNum: Int64
    public var clinicNum: Int64
    public var secDateTEdit: Date

    func json(in zone: TimeZone) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("ProcTPNum", procTPNum)
        b.set("TreatPlanNum", treatPlanNum)
        b.set("PatNum", patNum)
        b.set("ProcNumOrig", procNumOrig)
        b.set("ItemOrder", itemOrder)
        b.set("ToothNumTP", toothNumTP)
        b.set("Surf", surf)
        b.set("ProcCode", procCode)
        b.set("Descript", descript)
        b.set("FeeAmt", .double(feeAmt))
        b.set("PriInsAmt", .double(priInsAmt))
        b.set("SecInsAmt", .double(0))
        b.set("PatAmt", .double(patAmt))
        b.set("Discount", .double(0))
        b.set("SecDateTEdit", LocalTimestamp(secDateTEdit, in: zone).description)
        b.set("ProvNum", provNum)
        b.set("ClinicNum", clinicNum)
        return b.value
    }
}

/// `treatplanattach`: an Active/Inactive plan's link to a procedure (https://opendental.com/site/apitreatplanattaches.html).
public struct ODTreatPlanAttach: Sendable, Hashable {
    public var treatPlanAttachNum: Int64
    public var treatPlanNum: Int64
    public var procNum: Int64

    var json: JSONValue {
        var b = JSONObjectBuilder()
        b.set("TreatPlanAttachNum", treatPlanAttachNum)
        b.set("TreatPlanNum", treatPlanNum)
        b.set("ProcNum", procNum)
        b.set("Priority", Int64(0))
        b.set("priority", "")
        return b.value
    }
}

/// `procedurelog` (https://opendental.com/site/apiprocedurelogs.html).
public struct ODProcedure: Sendable, Hashable {
    public var procNum: Int64
    public var patNum: Int64
    public var aptNum: Int64
    public var plannedAptNum: Int64
    public var procFee: Double
    public var surf: String
    public var toothNum: String
    /// "TP", "C", "EC", "EO", "R", "D", "Cn", "TPi".
    public var procStatus: String
    public var provNum: Int64
    public var clinicNum: Int64
    public var procCode: String
    public var descript: String
    public var dateTStamp: Date

    public init(
        procNum: Int64, patNum: Int64, procCode: String, descript: String, procFee: Double, provNum: Int64, toothNum: String = "",
        surf: String = "", procStatus: String = "TP", clinicNum: Int64 = 0, aptNum: Int64 = 0, plannedAptNum: Int64 = 0,
        dateTStamp: Date = Date()
    ) {
        self.procNum = procNum
        self.patNum = patNum
        self.aptNum = aptNum
        self.plannedAptNum = plannedAptNum
        self.procFee = procFee
        self.surf = surf
        self.toothNum = toothNum
        self.procStatus = procStatus
        self.provNum = provNum
        self.clinicNum = clinicNum
        self.procCode = procCode
        self.descript = descript
        self.dateTStamp = dateTStamp
    }

    func json(in zone: TimeZone, server: Date) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("ProcNum", procNum)
        b.set("PatNum", patNum)
        b.set("AptNum", aptNum)
        b.set("ProcFee", String(format: "%.2f", procFee))
        b.set("Surf", surf)
        b.set("ToothNum", toothNum)
        b.set("ProcStatus", procStatus)
        b.set("ProvNum", provNum)
        b.set("PlannedAptNum", plannedAptNum)
        b.set("ClinicNum", clinicNum)
        b.set("procCode", procCode)
        b.set("descript", descript)
        b.set("DateTStamp", LocalTimestamp(dateTStamp, in: zone).description)
        b.set("serverDateTime", LocalTimestamp(server, in: zone).description)
        return b.value
    }
}

/// `appointment` (https://opendental.com/site/apiappointments.html).
public struct ODAppointment: Sendable, Hashable {
    public var aptNum: Int64
    public var patNum: Int64
    /// "Scheduled", "Complete", "UnschedList", "ASAP", "Broken", "Planned", "PtNote", "PtNoteCompleted".
    public var aptStatus: String
    /// 5-minute units: `X` provider time, `/` assistant time.
    public var pattern: String
    public var op: Int64
    public var note: String
    public var provNum: Int64
    public var aptDateTime: Date
    public var clinicNum: Int64
    public var dateTStamp: Date

    func json(in zone: TimeZone, server: Date, procDescript: String) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("serverDateTime", LocalTimestamp(server, in: zone).description)
        b.set("AptNum", aptNum)
        b.set("PatNum", patNum)
        b.set("AptStatus", aptStatus)
        b.set("Pattern", pattern)
        b.set("Confirmed", Int64(19))
        b.set("confirmed", "Not Called")
        b.set("Op", op)
        b.set("Note", note)
        b.set("ProvNum", provNum)
        b.set("ProvHyg", Int64(0))
        b.set("AptDateTime", LocalTimestamp(aptDateTime, in: zone).description)
        b.set("IsNewPatient", "false")
        b.set("ProcDescript", procDescript)
        b.set("ClinicNum", clinicNum)
        b.set("IsHygiene", "false")
        b.set("DateTStamp", LocalTimestamp(dateTStamp, in: zone).description)
        b.set("Priority", "Normal")
        return b.value
    }
}
