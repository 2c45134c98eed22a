import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import ServiceLifecycle
import Synchronization

/// The effect half of the PMS write-back: claims pending `pms_writebacks` rows (a lease, so
/// one worker at a time) and makes each appointment in Open Dental, exactly once:
/// 1. look for the appointment it may already have made (a retry after a lost response or a
///    crash): same patient, day, operatory and time, with the request's marker in the Note;
/// 2. otherwise `POST /appointments` with the plan's treatment-planned procedures attached;
/// 3. in one transaction: close the row as written, publish appointment.changed with the
///    AptNum (the id the poller gives the same state, so it is not published twice) and
///    record "in PMS" on the case.
/// A refusal (4xx: the slot was taken meanwhile, the patient archived) closes the row as
/// refused, releases the booking and hands the case to a coordinator with the reason.
/// A request that replaces another (the patient moved the booking with the reschedule link) moves
/// the appointment the replaced request wrote (`PUT /appointments/{AptNum}`: time, operatory,
/// provider, pattern) instead of making a second one; it waits while the replaced one is still
/// pending, and makes a new appointment when the replaced one was refused or never reached us.
public final class WritebackWorker: Service {
    public struct Settings: Sendable {
        /// Longer than one attempt can take (three requests at the client's timeout, 30 s by default),
        /// so a slow attempt is never taken over while it may still write.
        public var lease: Duration = .seconds(300)
        public var idle: Duration = .milliseconds(500)
        public var batchSize = 20
        public init() {}
    }

    let offices: [String: OpenDentalOffice]
    let clients: [String: OpenDentalClient]
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let topics: TopicNames
    let health: ConnectorHealth
    let settings: Settings
    let logger: Logger
    /// Offices not to try before a time (after a 401/403 or a transient failure).
    let pausedUntil: Mutex<[String: ContinuousClock.Instant]>

    public init(
        offices: [OpenDentalOffice], clients: [String: OpenDentalClient], pool: PostgresPool, clock: any PlanRouterClock,
        topics: TopicNames = .init(), health: ConnectorHealth, settings: Settings = .init(), logger: Logger
    ) {
        self.offices = Dictionary(offices.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.clients = clients
        self.pool = pool
        self.clock = clock
        self.topics = topics
        self.health = health
        self.settings = settings
        self.logger = logger
        pausedUntil = Mutex([:])
    }

    public func run() async throws {
        try await RoundLoop.run(name: "write-back", idle: settings.idle, logger: logger) { try await self.runOnce() }
    }

    /// Claims and works one round of pending write-backs, then reconciles the offices' hold
    /// blockouts; returns how many write-backs it claimed and blockouts it created or removed.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = try await clock.now()
        let ready = pausedUntil.withLock { p in offices.keys.filter { (p[$0] ?? .now) <= .now } }.sorted()
        guard !ready.isEmpty else { return 0 }
        let claimed = try await pool.withTransaction { tx in
            try await WritebacksRepository.claim(
                connector: "opendental", offices: ready, limit: settings.batchSize, lease: settings.lease, now: now, on: tx)
        }
        for c in claimed { try await perform(c) }
        var shown = 0
        for id in ready {
            guard let office = offices[id], office.holdBlockoutType != nil, let client = clients[id] else { continue }
            shown += try await syncHoldBlockouts(office, client: client)
        }
        return claimed.count + shown
    }

    func perform(_ c: ClaimedWriteback) async throws {
        guard let office = offices[c.officeID], let client = clients[c.officeID] else { return }
        do {
            let moving = try await replacedAppointment(c.request, office: office)
            if moving == .waiting {
                // The appointment it moves is not in the PMS yet: the replaced request goes first.
                pausedUntil.withLock { $0[c.officeID] = .now + .seconds(1) }
                let now = try await clock.now()
                try await pool.withConnection {
                    try await WritebacksRepository.release(c.id, error: "waiting for the appointment it moves", now: now, on: $0)
                }
                return
            }
            let appointment: ODAppointmentRecord
            if case .move(let aptNum) = moving {
                appointment = try await move(aptNum, to: c.request, office: office, client: client)
            } else {
                appointment = try await write(c.request, office: office, client: client)
            }
            try await written(c, appointment, office: office)
        } catch let e as OpenDentalError {
            switch e.kind {
            case .refused:
                try await refused(c, reason: Self.reason(e), office: office)
            case .unauthorized:
                health.recordFailure(office.id, kind: "unauthorized")
                health.set(office.id, healthy: false, reason: "HTTP \(e.status ?? 0) on write-back: customer key refused")
                try await giveBack(c, e, pause: .seconds(60))
            case .rateLimited(let after):
                health.recordFailure(office.id, kind: "rate_limited")
                try await giveBack(c, e, pause: after ?? .seconds(5))
            case .transient, .malformed:
                // Possibly written (a response lost after the commit): the retry looks for it first.
                health.recordFailure(office.id, kind: "transient")
                try await giveBack(c, e, pause: .seconds(min(60, 1 << min(c.attempts, 6))))
            }
        }
    }

    func giveBack(_ c: ClaimedWriteback, _ e: OpenDentalError, pause: Duration) async throws {
        logger.warning("write-back failed; will retry", metadata: ["connector.office": "\(c.officeID)", "error": "\(e)"])
        pausedUntil.withLock { $0[c.officeID] = .now + pause }
        let now = try await clock.now()
        try await pool.withConnection {
            try await WritebacksRepository.release(c.id, error: String(e.description.prefix(300)), now: now, on: $0)
        }
    }

    /// The office's explanation without anything of ours in it (Open Dental's error bodies name fields, not patients).
    static func reason(_ e: OpenDentalError) -> String {
        "Open Dental refused the appointment (HTTP \(e.status ?? 0)): \(e.message.split(separator: ":").dropFirst().joined(separator: ":").trimmingCharacters(in: .whitespaces).prefix(200))"
    }

    /// The marker the write-back leaves in the appointment's Note: how a retry recognises its own appointment.
    public static func marker(_ r: AppointmentRequest) -> String { markerPrefix + r.requestID }
    public static let markerPrefix = "PlanRouter booking "

    enum Replaced: Equatable {
        /// Not a move, or the replaced request made no appointment (refused, unknown): write a new one.
        case none
        /// The replaced request is still pending: try again after it.
        case waiting
        /// Move this Open Dental appointment.
        case move(Int64)
    }

    func replacedAppointment(_ r: AppointmentRequest, office: OpenDentalOffice) async throws -> Replaced {
        guard let replaced = r.replacesRequestID else { return .none }
        let outcome = try await pool.withConnection {
            try await WritebacksRepository.outcome(organizationID: r.organizationID, requestID: replaced, on: $0)
        }
        guard let outcome else { return .none }
        if outcome.status == "written", let id = outcome.appointmentID, let n = office.number(in: id, kind: "apt") { return .move(n) }
        return outcome.status == "pending" || outcome.status == "submitted" ? .waiting : .none
    }

    /// `PUT /appointments/{AptNum}` with the request's time, operatory, provider and length; a retry puts the
    /// same values again, so it is idempotent.
    func move(
        _ aptNum: Int64, to r: AppointmentRequest, office: OpenDentalOffice, client: OpenDentalClient
    ) async throws(OpenDentalError) -> ODAppointmentRecord {
        func refuse(_ m: String) -> OpenDentalError { OpenDentalError(kind: .refused, status: nil, message: "request: \(m)") }
        guard let prov = office.number(in: r.providerID, kind: "prov") else { throw refuse("provider is not one of this office's") }
        guard let opID = r.operatoryID, let op = office.number(in: opID, kind: "op") else { throw refuse("no operatory of this office") }
        let minutes = max(5, Int(r.end.date.timeIntervalSince(r.start.date) / 60))
        var body = JSONObjectBuilder()
        body.set("AptDateTime", LocalTimestamp(r.start.date, in: office.timeZone).description)
        body.set("Op", op)
        body.set("ProvNum", prov)
        body.set("Pattern", String(repeating: "X", count: minutes / 5))
        let moved = try await client.put("/appointments/\(aptNum)", body.value)
        do { return try ODAppointmentRecord(moved) } catch {
            throw OpenDentalError(kind: .malformed, status: 200, message: "PUT /appointments: \(error.description)")
        }
    }

    /// Finds the appointment an earlier attempt made, or makes it.
    func write(
        _ r: AppointmentRequest, office: OpenDentalOffice, client: OpenDentalClient
    ) async throws(OpenDentalError) -> ODAppointmentRecord {
        func refuse(_ m: String) -> OpenDentalError { OpenDentalError(kind: .refused, status: nil, message: "request: \(m)") }
        guard let pat = office.number(in: r.patientID, kind: "pat") else { throw refuse("patient is not one of this office's") }
        guard let prov = office.number(in: r.providerID, kind: "prov") else { throw refuse("provider is not one of this office's") }
        guard let opID = r.operatoryID, let op = office.number(in: opID, kind: "op") else { throw refuse("no operatory of this office") }
        let start = LocalTimestamp(r.start.date, in: office.timeZone)
        let marker = Self.marker(r)
        let existing = try await client.list("/appointments", [("PatNum", String(pat)), ("date", start.dateText)])
        if let mine = existing.compactMap({ try? ODAppointmentRecord($0) }).first(where: {
            $0.op == op && $0.start == start && $0.note.contains(marker) && $0.status == "Scheduled"
        }) {
            return mine
        }
        // The plan's treatment-planned procedures, one per requested code, not yet on an appointment.
        var procNums: [Int64] = []
        if let codes = r.procedureCodes, !codes.isEmpty {
            var open = try await client.list("/procedurelogs", [("PatNum", String(pat)), ("ProcStatus", "TP")]).compactMap {
                try? ODPlanLine(procedure: $0)
            }.filter { $0.status == "TP" && $0.isLive }
            for code in codes {
                if let i = open.firstIndex(where: { $0.code.uppercased() == code.uppercased() }) {
                    procNums.append(open.remove(at: i).procNum)
                }
            }
        }
        let minutes = max(5, Int(r.end.date.timeIntervalSince(r.start.date) / 60))
        var body = JSONObjectBuilder()
        body.set("PatNum", pat)
        body.set("Op", op)
        body.set("AptDateTime", start.description)
        body.set("Pattern", String(repeating: "X", count: minutes / 5))
        body.set("ProvNum", prov)
        body.set("Note", marker)
        if let clinic = office.clinics.first(where: { $0.value == r.locationID })?.key, clinic > 0 { body.set("ClinicNum", clinic) }
        if !procNums.isEmpty { body.set("procNums", .array(procNums.map { .int($0) })) }
        let created = try await client.post("/appointments", body.value)
        do { return try ODAppointmentRecord(created) } catch {
            throw OpenDentalError(kind: .malformed, status: 201, message: "POST /appointments: \(error.description)")
        }
    }

    func written(_ c: ClaimedWriteback, _ a: ODAppointmentRecord, office: OpenDentalOffice) async throws {
        let r = c.request
        let now = try await clock.now()
        let event = AppointmentChanged(
            organizationID: r.organizationID, locationID: r.locationID, appointmentID: office.appointmentID(a.num),
            changedAt: a.stamp.instant(in: office.timeZone), status: .scheduled, patientID: r.patientID, providerID: r.providerID,
            operatoryID: r.operatoryID, start: r.start.date,
            lengthMinutes: a.pattern.isEmpty ? max(5, Int(r.end.date.timeIntervalSince(r.start.date) / 60)) : nil,
            pattern: a.pattern.isEmpty ? nil : a.pattern, planID: r.planID,
            procedureCodes: r.procedureCodes)
        let written = WritebackOutcome.Written(
            eventID: OfficePoller.appointmentEventID(office, a.num, a.stamp), event: event, source: office.source,
            producer: ConnectorOffice(organizationID: office.organizationID, connector: "opendental", officeID: office.id))
        try await pool.withTransaction { tx in
            try await WritebackOutcome.written(c, written, topics: topics, now: now, on: tx)
        }
        logger.info("appointment written to the PMS", metadata: ["connector.office": "\(office.id)", "pms.appointment": "\(a.num)"])
    }

    func refused(_ c: ClaimedWriteback, reason: String, office: OpenDentalOffice) async throws {
        let now = try await clock.now()
        try await pool.withTransaction { tx in
            try await WritebackOutcome.refused(c, reason: reason, source: office.source, topics: topics, now: now, on: tx)
        }
        logger.notice("write-back refused by the PMS", metadata: ["connector.office": "\(office.id)", "reason": "\(reason)"])
    }
}
