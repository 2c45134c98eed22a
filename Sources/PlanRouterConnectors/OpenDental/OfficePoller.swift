import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Synchronization

/// Polls one Open Dental office: plans and procedures (acceptance inference), appointments
/// (every `pollInterval`), and schedules, providers and operatories (every
/// `referenceInterval`). Each poll reads from the stored watermark minus an hour (the
/// overlap covers the fall-back hour Open Dental's local wall times repeat, and late
/// commits), and writes its events, the plans' state and the new watermarks in one
/// transaction; a failed poll writes nothing and the next one starts from the same watermark.
public struct OfficePoller: Sendable {
    public let office: OpenDentalOffice
    let client: OpenDentalClient
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let topics: TopicNames
    let logger: Logger

    /// How far every poll reaches back before its watermark.
    public static let overlap: Int64 = 3600

    /// Plans decided per transaction within a poll. A new office's first poll reads every plan in
    /// its look-back (1,000 in the bench: minutes of requests); committed every 100 plans, its
    /// events flow from the first seconds and a failure late in the poll keeps what was written.
    /// Watermarks advance only with the poll's last transaction: a poll that fails after some
    /// commits reads its window again, and the produced ids skip what is already written.
    public static let plansPerTransaction = 100

    /// Plans already read at their current edit stamp: the overlap brings every plan edited in the
    /// last hour back on each poll, and reading its procedures, attachments and patient again cost
    /// about three requests a plan (after a burst of 1,000 plans, ~3,000 requests an office a minute).
    /// A plan is read again when its stamp moves or its patient's procedures changed. In memory: a
    /// restarted connector reads the overlap once more, which writes nothing new (event ids).
    let seen = SeenPlans()

    public init(
        office: OpenDentalOffice, client: OpenDentalClient, pool: PostgresPool, clock: any PlanRouterClock, topics: TopicNames = .init(),
        logger: Logger
    ) {
        self.office = office
        self.client = client
        self.pool = pool
        self.clock = clock
        self.topics = topics
        var l = logger
        l[metadataKey: "connector.office"] = "\(office.id)"
        self.logger = l
    }

    public var key: ConnectorOffice { ConnectorOffice(organizationID: office.organizationID, connector: "opendental", officeID: office.id) }

    /// What one poll wrote.
    public struct Result: Sendable, Equatable {
        public var events = 0
        public var deadLetters = 0
    }

    /// The windows to ask for: from each watermark minus the overlap, or the initial look-back.
    func windows(now: Date) async throws -> (String) -> String {
        let marks = try await pool.withConnection { try await ConnectorStateRepository.watermarks(key, on: $0) }
        let start = LocalTimestamp(now.addingTimeInterval(-Double(office.initialLookbackDays) * 86_400), in: office.timeZone)
        return { resource in
            (marks[resource].flatMap(LocalTimestamp.init)?.adding(seconds: -Self.overlap) ?? start).description
        }
    }

    // MARK: Plans and appointments

    /// One poll of plans, procedures and appointments.
    @discardableResult
    public func pollChanges() async throws -> Result {
        let now = try await clock.now()
        let since = try await windows(now: now)
        var batch = OfficeBatch()
        var cache = Cache()

        let planRows = try await client.list("/treatplans", [("SecDateTEdit", since("treatplans"))])
        let procRows = try await client.list("/procedurelogs", [("DateTStamp", since("procedurelogs"))])
        var candidates: [Int64: ODTreatPlanRecord] = [:]
        for row in planRows {
            do {
                let p = try ODTreatPlanRecord(row)
                candidates[p.num] = p
                batch.mark("treatplans", p.edited)
            } catch { deadLetter(error, row, into: &batch, topic: .planAccepted, now: now) }
        }
        var changedProcs: [(line: ODPlanLine, patNum: Int64)] = []
        var procVersions: [(procNum: Int64, version: SeenPlans.ProcedureVersion)] = []
        for row in procRows {
            do {
                let line = try ODPlanLine(procedure: row)
                let stamp = row.odTime("DateTStamp")
                if let stamp { batch.mark("procedurelogs", stamp) }
                let version = SeenPlans.ProcedureVersion(row, stamp: stamp)
                procVersions.append((line.procNum, version))
                // The overlap brings back every procedure changed in the last hour: only one not
                // read in this form before is a change (else a burst re-reads every plan each poll).
                if seen.isNew(procedure: line.procNum, version) { changedProcs.append((line, row.odInt("PatNum") ?? 0)) }
            } catch { deadLetter(error, row, into: &batch, topic: .planAccepted, now: now) }
        }
        let patients = Set(candidates.values.map(\.patNum)).union(changedProcs.map(\.patNum))
        var states = PlanStates(
            try await pool.withConnection {
                try await ConnectorStateRepository.plans(key, patients: patients.map(String.init), on: $0)
            })
        // A procedure attached to a planned appointment, or one deleted from a plan we published,
        // does not edit its plan: re-read that patient's plans.
        let tracked = Set(states.all.flatMap { $0.procedures.split(separator: ",").compactMap { Int64($0) } })
        var recheck = Set<Int64>()
        for (l, pat) in changedProcs {
            if (l.isLive && l.status == "TP" && l.plannedAptNum != 0) || (!l.isLive && tracked.contains(l.procNum)) { recheck.insert(pat) }
        }
        for pat in recheck.sorted() {
            for row in try await client.list("/treatplans", [("PatNum", String(pat))]) {
                if let p = try? ODTreatPlanRecord(row), candidates[p.num] == nil { candidates[p.num] = p }
            }
        }
        let patientsWithChangedProcedures = Set(changedProcs.map(\.patNum)).union(recheck)
        let unchanged = seen.unchanged(candidates.values.filter { !patientsWithChangedProcedures.contains($0.patNum) })
        for num in unchanged { candidates[num] = nil }
        let inference = AcceptanceInference(office: office)
        // Saved (signed copies) first: an Active plan whose procedures a signed copy covers is the same acceptance.
        let order = ["Saved": 0, "Active": 1, "Inactive": 2]
        var written = (events: 0, deadLetters: 0)
        for plan in candidates.values.sorted(by: { (order[$0.status] ?? 3, $0.num) < (order[$1.status] ?? 3, $1.num) }) {
            if batch.plans.count + batch.deadLetters.count >= Self.plansPerTransaction {
                let w = try await batch.commitProgress(key, pool: pool, now: now)
                written = (written.events + w.events, written.deadLetters + w.deadLetters)
            }
            do {
                let previous = states.plan(String(plan.num))
                let covered = Set(
                    states.of(patient: String(plan.patNum)).filter { $0.state == .accepted && $0.pmsPlan != String(plan.num) }
                        .flatMap { $0.procedures.split(separator: ",").compactMap { Int64($0) } })
                let snap = try await snapshot(plan, previous: previous, cache: &cache)
                guard let d = try inference.decide(snap, previous: previous, covered: covered) else { continue }
                switch d.signal {
                case .accepted(let e):
                    batch.append(e, id: d.eventID, source: office.source, time: now, subject: e.planID, topics: topics, office: office.id)
                case .modified(let e), .revoked(let e):
                    batch.append(e, id: d.eventID, source: office.source, time: now, subject: e.planID, topics: topics, office: office.id)
                }
                batch.plans.append(d.state)
                states.set(d.state)
            } catch let m as MalformedRecord {
                batch.deadLetter(
                    m, office: office.id, source: office.source, topic: topics[.planAccepted], fingerprint: plan.edited.description,
                    time: now)
            }
        }

        try await pollAppointments(since: since("appointments"), states: states.all, into: &batch, now: now)
        let last = try await batch.commit(key, pool: pool, now: now)
        written = (written.events + last.events, written.deadLetters + last.deadLetters)
        // Only once committed: a failed poll reads everything again.
        seen.remember(candidates.values.map { ($0.num, $0.edited) })
        seen.remember(procedures: procVersions)
        if written.events + written.deadLetters > 0 {
            logger.info("office polled", metadata: ["events": "\(written.events)", "dead_letters": "\(written.deadLetters)"])
        }
        return Result(events: written.events, deadLetters: written.deadLetters)
    }

    /// Per-poll memo of per-patient reads.
    struct Cache {
        var procedures: [Int64: [ODPlanLine]] = [:]
        var planned: [Int64: [ODAppointmentRecord]] = [:]
        var patients: [Int64: ODPatientRecord] = [:]
    }

    func snapshot(_ plan: ODTreatPlanRecord, previous: ConnectorPlanState?, cache: inout Cache) async throws -> AcceptanceInference.Snapshot
    {
        if cache.procedures[plan.patNum] == nil {
            cache.procedures[plan.patNum] = try await client.list("/procedurelogs", [("PatNum", String(plan.patNum))]).map {
                v throws(MalformedRecord) in try ODPlanLine(procedure: v)
            }
        }
        let all = cache.procedures[plan.patNum] ?? []
        var lines: [ODPlanLine]
        if plan.status == "Saved" {
            // A Saved plan's copies never change; whether the originals were deleted or attached to a
            // planned appointment since is on the procedurelogs.
            lines = try await client.list("/proctps", [("TreatPlanNum", String(plan.num))]).map { v throws(MalformedRecord) in
                var line = try ODPlanLine(procTP: v)
                if let original = all.first(where: { $0.procNum == line.procNum }) {
                    line.status = original.status
                    line.plannedAptNum = original.plannedAptNum
                }
                return line
            }
        } else {
            let attached = try await client.list("/treatplanattaches", [("TreatPlanNum", String(plan.num))]).compactMap {
                $0.odInt("ProcNum")
            }
            lines = attached.compactMap { n in all.first { $0.procNum == n } }
        }
        var planned: ODAppointmentRecord?
        if let aptNum = lines.first(where: { $0.isLive && $0.plannedAptNum != 0 })?.plannedAptNum {
            if cache.planned[plan.patNum] == nil {
                cache.planned[plan.patNum] = try await client.list(
                    "/appointments", [("PatNum", String(plan.patNum)), ("AptStatus", "Planned")]
                ).compactMap { try? ODAppointmentRecord($0) }
            }
            planned = cache.planned[plan.patNum]?.first { $0.num == aptNum }
        }
        var patient: ODPatientRecord?
        if previous?.state != .accepted && (plan.signed != nil || planned != nil) {
            if cache.patients[plan.patNum] == nil {
                cache.patients[plan.patNum] = try ODPatientRecord(try await client.get("/patients/\(plan.patNum)"))
            }
            patient = cache.patients[plan.patNum]
        }
        return AcceptanceInference.Snapshot(plan: plan, lines: lines, patient: patient, planned: planned)
    }

    func deadLetter(_ error: any Error, _ row: JSONValue, into batch: inout OfficeBatch, topic: EventType, now: Date) {
        let m = (error as? MalformedRecord) ?? MalformedRecord(table: "record", key: "?", reason: "\(error)")
        batch.deadLetter(m, office: office.id, source: office.source, topic: topics[topic], fingerprint: row.serialized(), time: now)
    }

    /// Appointments changed since the window, any source (the front desk, Web Sched, our write-backs),
    /// as appointment.changed; planned appointments are not on the calendar and stay out.
    func pollAppointments(since: String, states: [ConnectorPlanState], into batch: inout OfficeBatch, now: Date) async throws {
        let rows = try await client.list("/appointments", [("DateTStamp", since)])
        var records: [ODAppointmentRecord] = []
        for row in rows {
            do {
                let a = try ODAppointmentRecord(row)
                batch.mark("appointments", a.stamp)
                records.append(a)
            } catch { deadLetter(error, row, into: &batch, topic: .appointmentChanged, now: now) }
        }
        let status: [String: AppointmentStatus] = [
            "Scheduled": .scheduled, "Complete": .completed, "Broken": .broken, "UnschedList": .cancelled,
        ]
        let ours = try await pool.withConnection {
            try await WritebacksRepository.plans(
                ofAppointments: records.map { office.appointmentID($0.num) }, organizationID: office.organizationID, officeID: office.id,
                on: $0)
        }
        // The plans published for these patients, whenever they were accepted (not only this poll's).
        let known = Set(states.map(\.pmsPlan))
        let older = try await pool.withConnection {
            try await ConnectorStateRepository.plans(key, patients: Array(Set(records.map { String($0.patNum) })), on: $0)
        }
        let accepted = (states + older.filter { !known.contains($0.pmsPlan) }).filter { $0.state == .accepted }
        for a in records {
            guard let s = status[a.status], let location = office.location(clinic: a.clinicNum) else { continue }
            guard !a.pattern.isEmpty else {
                batch.deadLetter(
                    MalformedRecord(table: "appointment", key: String(a.num), reason: "no Pattern (length unknown)"), office: office.id,
                    source: office.source, topic: topics[.appointmentChanged], fingerprint: a.stamp.description, time: now)
                continue
            }
            var planID = ours[office.appointmentID(a.num)]
            var codes: [String]?
            // A booking the front desk made for a published plan: its procedures tell which plan.
            let plans = accepted.filter { $0.patient == String(a.patNum) }
            if planID == nil, !plans.isEmpty, s == .scheduled || s == .completed {
                let procs = try await client.list("/procedurelogs", [("AptNum", String(a.num))]).compactMap {
                    try? ODPlanLine(procedure: $0)
                }
                codes = procs.map { $0.code.uppercased() }
                let nums = Set(procs.map { String($0.procNum) })
                planID = plans.first { !Set($0.procedures.split(separator: ",").map(String.init)).isDisjoint(with: nums) }?.planID
            }
            let event = AppointmentChanged(
                organizationID: office.organizationID, locationID: location, appointmentID: office.appointmentID(a.num),
                changedAt: a.stamp.instant(in: office.timeZone), status: s, patientID: office.patientID(a.patNum),
                providerID: office.providerID(a.provNum), operatoryID: a.op > 0 ? office.operatoryID(a.op) : nil,
                start: a.start.instant(in: office.timeZone), pattern: a.pattern, planID: planID,
                procedureCodes: codes?.isEmpty == false ? codes : nil)
            batch.append(
                event, id: Self.appointmentEventID(office, a.num, a.stamp), source: office.source, time: now, subject: planID,
                topics: topics,
                office: office.id)
        }
    }

    /// The same appointment state always gets the same id, whether the poll or the write-back saw it first.
    static func appointmentEventID(_ office: OpenDentalOffice, _ aptNum: Int64, _ stamp: LocalTimestamp) -> String {
        "\(office.appointmentID(aptNum))-\(stamp.naiveSeconds)"
    }
}

/// The published state of the plans of a poll's patients, by plan and by patient (a first poll
/// holds an office's whole look-back: a scan per plan made it quadratic).
struct PlanStates {
    private var byPlan: [String: ConnectorPlanState] = [:]
    private var byPatient: [String: Set<String>] = [:]

    init(_ states: [ConnectorPlanState]) { for s in states { set(s) } }

    var all: [ConnectorPlanState] { Array(byPlan.values) }
    func plan(_ pmsPlan: String) -> ConnectorPlanState? { byPlan[pmsPlan] }
    func of(patient: String) -> [ConnectorPlanState] { (byPatient[patient] ?? []).compactMap { byPlan[$0] } }

    mutating func set(_ state: ConnectorPlanState) {
        if let old = byPlan[state.pmsPlan] { byPatient[old.patient]?.remove(state.pmsPlan) }
        byPlan[state.pmsPlan] = state
        byPatient[state.patient, default: []].insert(state.pmsPlan)
    }
}

/// Per office, the edit stamp at which each recently read plan was read, and the form in which each
/// recently changed procedure was read (OfficePoller.seen). Bounded: past `limit` plans (or
/// procedures) the oldest half is forgotten (they are read again if they come back).
final class SeenPlans: Sendable {
    let limit: Int
    private let planStamps = Mutex(BoundedMemo<LocalTimestamp>())
    private let procedures = Mutex(BoundedMemo<ProcedureVersion>())

    /// A procedurelog row as read: its stamp, and a digest of the whole row, so that a change inside
    /// the same second (Open Dental's stamps have one-second resolution) still counts as a change.
    struct ProcedureVersion: Sendable, Equatable {
        var stamp: LocalTimestamp?
        var digest: String

        init(_ row: JSONValue, stamp: LocalTimestamp?) {
            self.stamp = stamp
            // Every procedurelog row carries the server's clock (`serverDateTime`), which moves on each request.
            var fields = row.objectValue ?? JSONObject()
            fields["serverDateTime"] = nil
            self.digest = OfficeBatch.fnv(JSONValue.object(fields).serialized())
        }
    }

    init(limit: Int = 50_000) { self.limit = limit }

    /// Whether this procedure row was not read in this form by a committed poll.
    func isNew(procedure procNum: Int64, _ version: ProcedureVersion) -> Bool {
        procedures.withLock { $0[procNum] != version }
    }

    func remember(procedures read: [(procNum: Int64, version: ProcedureVersion)]) {
        procedures.withLock { $0.set(read.map { ($0.procNum, $0.version, $0.version.stamp) }, limit: limit) }
    }

    /// The plans among `plans` already read at the same stamp.
    func unchanged(_ plans: [ODTreatPlanRecord]) -> [Int64] {
        planStamps.withLock { memo in plans.filter { memo[$0.num] == $0.edited }.map(\.num) }
    }

    func remember(_ plans: [(Int64, LocalTimestamp)]) {
        planStamps.withLock { $0.set(plans.map { ($0.0, $0.1, $0.1) }, limit: limit) }
    }
}

/// Values by Open Dental record number; past `limit` entries the oldest half (by edit stamp) is forgotten.
struct BoundedMemo<Value: Equatable & Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        /// As text: `yyyy-MM-dd HH:mm:ss` sorts as it reads; no stamp sorts first.
        var age: String
    }
    private var entries: [Int64: Entry] = [:]

    subscript(num: Int64) -> Value? { entries[num]?.value }

    mutating func set(_ items: [(num: Int64, value: Value, stamp: LocalTimestamp?)], limit: Int) {
        for item in items { entries[item.num] = Entry(value: item.value, age: item.stamp?.description ?? "") }
        guard entries.count > limit else { return }
        for (num, _) in entries.sorted(by: { $0.value.age < $1.value.age }).prefix(entries.count - limit / 2) { entries[num] = nil }
    }
}
