import Foundation
import PlanRouterCore
import Synchronization

/// A local stand-in for the Open Dental API, written from its public documentation; NOT
/// Open Dental. One customer key is one office (its own database, numbering and time
/// zone); every request must carry `Authorization: ODFHIR {DeveloperKey}/{CustomerKey}`.
/// Tests and the simulator drive the practice through this type (sign plans, book and
/// break appointments) and read back what the connector wrote into it.
public final class OpenDentalEmulator: Sendable {
    public let developerKey: String
    let state: Mutex<State>

    /// Page size of list endpoints: 100 for the remote API (1,000 for the local API service).
    public static let pageSize = 100

    struct State {
        var offices: [String: Office] = [:]
        var faults: [Fault] = []
        var now: Date?
        var requests: [String: Int] = [:]
        /// Per customer key: change polls started (`GET /treatplans?SecDateTEdit=`), reference polls
        /// started (`GET /providers`), appointments the simulated front desk booked, hold blockouts
        /// created through `POST /schedules`.
        var pollStarts: [String: Int] = [:]
        var referenceStarts: [String: Int] = [:]
        var frontDesk: [String: Int] = [:]
        var holdBlockoutsMade: [String: Int] = [:]
    }

    /// One office's database.
    public struct Office: Sendable {
        public var customerKey: String
        public var timeZone: TimeZone
        public var enabled = true
        public var patients: [Int64: ODPatient] = [:]
        public var providers: [Int64: ODProvider] = [:]
        public var operatories: [Int64: ODOperatory] = [:]
        public var schedules: [Int64: ODSchedule] = [:]
        public var treatPlans: [Int64: ODTreatPlan] = [:]
        public var procTPs: [Int64: ODProcTP] = [:]
        public var attaches: [Int64: ODTreatPlanAttach] = [:]
        public var procedures: [Int64: ODProcedure] = [:]
        public var appointments: [Int64: ODAppointment] = [:]
        var next: Int64 = 1000

        mutating func number() -> Int64 {
            next += 1
            return next
        }
    }

    /// A failure answered on demand instead of (or, with `afterCommit`, after) the real work.
    public struct Fault: Sendable, Hashable {
        public var status: Int
        public var retryAfterSeconds: Int?
        /// Only this office; nil: any.
        public var customerKey: String?
        /// Only this method ("GET", "POST"); nil: any.
        public var method: String?
        /// Only paths starting with this (e.g. "/treatplans"); nil: any.
        public var pathPrefix: String?
        /// Do the work (commit), then answer with `status`: a response lost after the write.
        public var afterCommit: Bool
        public var remaining: Int

        public init(
            status: Int, retryAfterSeconds: Int? = nil, customerKey: String? = nil, method: String? = nil, pathPrefix: String? = nil,
            afterCommit: Bool = false, count: Int = 1
        ) {
            self.status = status
            self.retryAfterSeconds = retryAfterSeconds
            self.customerKey = customerKey
            self.method = method
            self.pathPrefix = pathPrefix
            self.afterCommit = afterCommit
            self.remaining = count
        }
    }

    public init(developerKey: String) {
        self.developerKey = developerKey
        state = Mutex(State())
    }

    // MARK: Clock and faults

    /// The office server's clock: the wall clock unless pinned (tests pin it, e.g. inside a DST fold).
    public func setNow(_ date: Date?) { state.withLock { $0.now = date } }
    public var now: Date { state.withLock { $0.now } ?? Date() }

    public func inject(_ fault: Fault) { state.withLock { $0.faults.append(fault) } }

    /// A disabled customer key answers 401, as a key the office turned off in API Setup.
    public func setEnabled(_ enabled: Bool, customerKey: String) { state.withLock { $0.offices[customerKey]?.enabled = enabled } }

    /// Requests served per customer key (for figures: requests per office per hour).
    public func requestCounts() -> [String: Int] { state.withLock { $0.requests } }

    // MARK: Setting up an office

    @discardableResult
    public func addOffice(customerKey: String, timeZone: TimeZone) -> String {
        state.withLock { $0.offices[customerKey] = Office(customerKey: customerKey, timeZone: timeZone) }
        return customerKey
    }

    public func office(_ key: String) -> Office? { state.withLock { $0.offices[key] } }

    /// Edits an office's rows directly, as a database fix-up would (tests use it to plant records
    /// that are not the documented shape).
    public func edit(_ key: String, _ body: (inout Office) -> Void) {
        state.withLock { s in
            s.offices[key].map {
                var o = $0
                body(&o)
                s.offices[key] = o
            }
        }
    }

    func mutate<T>(_ key: String, _ body: (inout Office, Date) throws -> T) throws -> T {
        try state.withLock { s in
            guard var o = s.offices[key] else { throw OpenDentalEmulatorError("no office with customer key \(key)") }
            let now = s.now ?? Date()
            let result = try body(&o, now)
            s.offices[key] = o
            return result
        }
    }

    @discardableResult
    public func addPatient(
        _ office: String, lName: String, fName: String, wirelessPhone: String = "", email: String = "", txtMsgOk: String = "Yes",
        preferContactMethod: String = "TextMessage", clinicNum: Int64 = 0
    ) throws -> Int64 {
        try mutate(office) { o, now in
            o.addPatient(
                lName: lName, fName: fName, wirelessPhone: wirelessPhone, email: email, txtMsgOk: txtMsgOk,
                preferContactMethod: preferContactMethod, clinicNum: clinicNum, now: now)
        }
    }

    public func archivePatient(_ office: String, patNum: Int64) throws {
        try mutate(office) { o, now in
            o.patients[patNum]?.patStatus = "Archived"
            o.patients[patNum]?.dateTStamp = now
        }
    }

    @discardableResult
    public func addProvider(_ office: String, abbr: String, hygienist: Bool = false, specialty: String? = nil) throws -> Int64 {
        let def = try specialty.map { name in
            guard let d = ODDefinition.specialty(named: name) else { throw OpenDentalEmulatorError("unknown specialty \(name)") }
            return d.defNum
        }
        return try mutate(office) { o, now in
            let n = o.number()
            o.providers[n] = ODProvider(provNum: n, abbr: abbr, isSecondary: hygienist, dateTStamp: now, specialty: def)
            return n
        }
    }

    @discardableResult
    public func addOperatory(_ office: String, name: String, provDentist: Int64 = 0, clinicNum: Int64 = 0) throws -> Int64 {
        try mutate(office) { o, _ in
            let n = o.number()
            o.operatories[n] = ODOperatory(operatoryNum: n, opName: name, provDentist: provDentist, clinicNum: clinicNum)
            return n
        }
    }

    /// A provider's hours on one day (`yyyy-MM-dd`, `HH:mm:ss`), or a blockout when `blockout` names its type.
    @discardableResult
    public func addSchedule(
        _ office: String, date: String, start: String, stop: String, provNum: Int64 = 0, operatories: [Int64] = [], blockout: String? = nil
    ) throws -> Int64 {
        try mutate(office) { o, now in
            let n = o.number()
            o.schedules[n] = ODSchedule(
                scheduleNum: n, schedDate: date, startTime: start, stopTime: stop, schedType: blockout == nil ? "Provider" : "Blockout",
                provNum: blockout == nil ? provNum : 0, blockoutType: blockout == nil ? 0 : 1, blockoutName: blockout ?? "",
                operatories: operatories, dateTStamp: now)
            return n
        }
    }

    /// One planned procedure of `presentPlan`.
    public struct PlannedProcedure: Sendable {
        public var code: String
        public var descript: String
        public var fee: Double
        /// The patient's estimated portion (on a Saved plan's copy).
        public var patAmt: Double
        public var toothNum: String
        public init(code: String, descript: String, fee: Double, patAmt: Double = 0, toothNum: String = "") {
            self.code = code
            self.descript = descript
            self.fee = fee
            self.patAmt = patAmt
            self.toothNum = toothNum
        }
    }

    /// The dentist charts procedures (status TP) and presents them on the patient's Active plan.
    /// Returns the plan's TreatPlanNum and the procedures' ProcNums.
    @discardableResult
    public func presentPlan(
        _ office: String, patNum: Int64, provNum: Int64, procedures: [PlannedProcedure], clinicNum: Int64 = 0
    ) throws -> (treatPlanNum: Int64, procNums: [Int64]) {
        try mutate(office) { o, now in
            o.presentPlan(patNum: patNum, provNum: provNum, procedures: procedures, clinicNum: clinicNum, now: now)
        }
    }

    /// The patient signs: with `saved`, the Active plan is saved as a Saved plan (copies of its
    /// procedures, with the patient's portions) and that copy is signed, as Open Dental's "Save TP"
    /// and signature do; otherwise the Active plan itself is signed. Returns the signed plan's number.
    @discardableResult
    public func signPlan(_ office: String, treatPlanNum: Int64, saved: Bool = true, patAmts: [Double] = []) throws -> Int64 {
        try mutate(office) { o, now in try o.signPlan(treatPlanNum, saved: saved, patAmts: patAmts, now: now) }
    }

    /// The front desk makes the plan Inactive.
    public func inactivatePlan(_ office: String, treatPlanNum: Int64) throws {
        try mutate(office) { o, now in
            o.treatPlans[treatPlanNum]?.tpStatus = "Inactive"
            o.treatPlans[treatPlanNum]?.secDateTEdit = now
        }
    }

    /// A procedure's fee changes; the plans it is on are edited.
    public func changeFee(_ office: String, procNum: Int64, fee: Double) throws {
        try mutate(office) { o, now in
            o.procedures[procNum]?.procFee = fee
            o.procedures[procNum]?.dateTStamp = now
            Self.touchPlans(of: procNum, in: &o, now: now)
        }
    }

    /// A procedure is deleted (status D); the plans it is on are edited.
    public func deleteProcedure(_ office: String, procNum: Int64) throws {
        try mutate(office) { o, now in
            o.procedures[procNum]?.procStatus = "D"
            o.procedures[procNum]?.dateTStamp = now
            Self.touchPlans(of: procNum, in: &o, now: now)
        }
    }

    static func touchPlans(of procNum: Int64, in o: inout Office, now: Date) {
        let plans = Set(o.attaches.values.filter { $0.procNum == procNum }.map(\.treatPlanNum))
            .union(o.procTPs.values.filter { $0.procNumOrig == procNum }.map(\.treatPlanNum))
        for p in plans { o.treatPlans[p]?.secDateTEdit = now }
    }

    /// A planned appointment (AptStatus Planned) with the procedures attached: another form of acceptance.
    @discardableResult
    public func planAppointment(_ office: String, patNum: Int64, provNum: Int64, procNums: [Int64], pattern: String) throws -> Int64 {
        try mutate(office) { o, now in
            let n = o.number()
            o.appointments[n] = ODAppointment(
                aptNum: n, patNum: patNum, aptStatus: "Planned", pattern: pattern, op: 0, note: "", provNum: provNum,
                aptDateTime: LocalTimestamp.unset.instant(in: o.timeZone), clinicNum: 0, dateTStamp: now)
            for p in procNums {
                o.procedures[p]?.plannedAptNum = n
                o.procedures[p]?.dateTStamp = now
            }
            return n
        }
    }

    /// The front desk books an appointment (no overlap check: a front desk can double-book).
    @discardableResult
    public func book(
        _ office: String, patNum: Int64, op: Int64, provNum: Int64, at start: Date, pattern: String, note: String = "",
        procNums: [Int64] = []
    ) throws -> Int64 {
        try mutate(office) { o, now in
            let n = o.number()
            o.appointments[n] = ODAppointment(
                aptNum: n, patNum: patNum, aptStatus: "Scheduled", pattern: pattern, op: op, note: note, provNum: provNum,
                aptDateTime: start,
                clinicNum: o.operatories[op]?.clinicNum ?? 0, dateTStamp: now)
            for p in procNums { o.procedures[p]?.aptNum = n }
            return n
        }
    }

    /// The patient does not come, or the front desk breaks the appointment.
    public func breakAppointment(_ office: String, aptNum: Int64) throws { try setStatus(office, aptNum: aptNum, "Broken") }

    /// The patient came: the front desk sets the appointment complete.
    public func completeAppointment(_ office: String, aptNum: Int64) throws { try setStatus(office, aptNum: aptNum, "Complete") }

    func setStatus(_ office: String, aptNum: Int64, _ status: String) throws {
        try mutate(office) { o, now in
            o.appointments[aptNum]?.aptStatus = status
            o.appointments[aptNum]?.dateTStamp = now
        }
    }

    /// The office's scheduled appointments (what the connector wrote back, and what the front desk booked).
    public func scheduledAppointments(_ office: String) -> [ODAppointment] {
        (self.office(office)?.appointments.values.filter { $0.aptStatus == "Scheduled" } ?? []).sorted { $0.aptNum < $1.aptNum }
    }
}

public struct OpenDentalEmulatorError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
