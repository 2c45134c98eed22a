import Foundation
import PlanRouterCore

/// The emulator-admin side used by `planrouter simulate --pms opendental`: what the staff of an
/// emulated practice do at the desk and in the chair (add providers and patients, present and
/// sign plans, book and break appointments), sent as JSON actions to
/// `POST /_emulator/offices/{key}/practice`. Open Dental's API has no endpoint for most of these
/// (a plan is signed on a topaz pad, not through the API), and the connector never calls this
/// surface: it only reads `/api/v1` and writes appointments and blockouts there.
extension OpenDentalEmulator {
    /// Applies one office's actions in order; returns one result object per action (the numbers made).
    public func practice(_ key: String, actions: [JSONValue]) throws -> [JSONValue] {
        try actions.map { try apply($0, office: key) }
    }

    func apply(_ a: JSONValue, office key: String) throws -> JSONValue {
        func int(_ name: String) throws -> Int64 {
            guard let v = a[name]?.int64Value else { throw OpenDentalEmulatorError("\(name) is required") }
            return v
        }
        func text(_ name: String, _ fallback: String = "") -> String { a[name]?.stringValue ?? fallback }
        func ints(_ name: String) -> [Int64] { a[name]?.arrayValue?.compactMap(\.int64Value) ?? [] }
        switch a["do"]?.stringValue ?? "" {
        case "provider":
            let n = try addProvider(
                key, abbr: text("abbr", "DOC"), hygienist: a["hygienist"]?.boolValue ?? false, specialty: a["specialty"]?.stringValue)
            return .object(["ProvNum": .int(n)])
        case "operatory":
            let n = try addOperatory(key, name: text("name", "Op"), provDentist: a["prov_dentist"]?.int64Value ?? 0)
            return .object(["OperatoryNum": .int(n)])
        case "schedule":
            let n = try addSchedule(
                key, date: text("date"), start: text("start"), stop: text("stop"), provNum: try int("prov_num"),
                operatories: ints("operatories"))
            return .object(["ScheduleNum": .int(n)])
        case "patient":
            let n = try addPatient(
                key, lName: text("lname", "Patient"), fName: text("fname"), wirelessPhone: text("phone"), email: text("email"),
                txtMsgOk: text("txt_msg_ok", "Unknown"), preferContactMethod: text("prefer", "None"))
            return .object(["PatNum": .int(n)])
        case "present_plan":
            let procedures = (a["procedures"]?.arrayValue ?? []).map {
                PlannedProcedure(
                    code: $0["code"]?.stringValue ?? "", descript: $0["descript"]?.stringValue ?? "",
                    fee: Double($0["fee_cents"]?.int64Value ?? 0) / 100)
            }
            let made = try presentPlan(key, patNum: try int("pat_num"), provNum: try int("prov_num"), procedures: procedures)
            return .object(["TreatPlanNum": .int(made.treatPlanNum), "ProcNums": .array(made.procNums.map { .int($0) })])
        case "sign_plan":
            // The signed copies' PatAmt (the patient's estimated portion per line), in dollars.
            let patAmts = (a["pat_amts"]?.arrayValue ?? []).compactMap { v -> Double? in
                switch v {
                case .double(let d): d
                case .int(let i): Double(i)
                default: nil
                }
            }
            let n = try signPlan(key, treatPlanNum: try int("treat_plan_num"), patAmts: patAmts)
            return .object(["TreatPlanNum": .int(n)])
        case "inactivate_plan":
            try inactivatePlan(key, treatPlanNum: try int("treat_plan_num"))
            return .object([:])
        case "book":
            guard let at = a["at"]?.stringValue.flatMap(RFC3339.parse) else { throw OpenDentalEmulatorError("at (RFC 3339) is required") }
            let n = try book(
                key, patNum: try int("pat_num"), op: try int("op"), provNum: try int("prov_num"), at: at, pattern: text("pattern", "XX"),
                note: text("note"), procNums: ints("proc_nums"))
            if a["front_desk"]?.boolValue == true { state.withLock { $0.frontDesk[key, default: 0] += 1 } }
            return .object(["AptNum": .int(n)])
        case "break":
            try breakAppointment(key, aptNum: try int("apt_num"))
            return .object([:])
        case "complete":
            try completeAppointment(key, aptNum: try int("apt_num"))
            return .object([:])
        case let other:
            throw OpenDentalEmulatorError("unknown action \(other.isEmpty ? "(no \"do\")" : other)")
        }
    }

    /// What an office holds, for the simulation's outcome: appointments by origin, hold
    /// blockouts, and how many change polls the connector has started (a poll that starts after
    /// a write and is followed by another has read that write and committed what it made), and
    /// how many reference polls (schedules, providers, operatories) it started.
    public func summary(_ key: String, bookingMarker: String, holdMarker: String) -> JSONValue? {
        guard let o = office(key) else { return nil }
        let counts = state.withLock {
            ($0.pollStarts[key] ?? 0, $0.frontDesk[key] ?? 0, $0.holdBlockoutsMade[key] ?? 0, $0.referenceStarts[key] ?? 0)
        }
        let scheduled = o.appointments.values.filter { $0.aptStatus == "Scheduled" }
        // A written-back appointment the patient came to is Complete: still in the PMS.
        let written = o.appointments.values.filter { ["Scheduled", "Complete"].contains($0.aptStatus) && $0.note.contains(bookingMarker) }
        var b = JSONObjectBuilder()
        b.set("poll_starts", counts.0)
        b.set("reference_starts", counts.3)
        b.set("scheduled", scheduled.count)
        b.set("written_back", written.count)
        b.set("written_back_ids", written.map { String($0.aptNum) }.sorted())
        b.set("front_desk", counts.1)
        b.set("broken", o.appointments.values.filter { $0.aptStatus == "Broken" }.count)
        b.set("signed_plans", o.treatPlans.values.filter { $0.dateTSigned != nil }.count)
        b.set("hold_blockouts_now", o.schedules.values.filter { $0.schedType == "Blockout" && $0.note.contains(holdMarker) }.count)
        b.set("hold_blockouts_made", counts.2)
        return b.value
    }
}
