import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import ServiceLifecycle
import Synchronization

/// The write-back for locations connected through NexHealth. NexHealth inserts appointments
/// asynchronously: `POST /appointments` answers 201 with NexHealth's appointment (accepted, not
/// yet in the PMS), and an `appointment_insertion` webhook later says complete or failed. So:
/// 1. claim a pending `pms_writebacks` row (the same lease as Open Dental's);
/// 2. look first: the patient's appointments at that time whose note carries the request's
///    marker (an earlier attempt whose answer was lost);
/// 3. otherwise `POST /appointments` with the marker in the note;
/// 4. mark the row `submitted` with NexHealth's id. The intake closes it from the insertion
///    webhook (`NexHealthIntake`): complete → written (appointment.changed), failed → refused
///    (the same refusal path as Open Dental's).
/// A 4xx answer to the POST is a refusal at once; 429/5xx give the claim back.
///
/// A moved booking (`replaces_request_id`): NexHealth cannot change an appointment's time ("cancel
/// the original appointment and re-create it"), so the new appointment is made (steps 2-3), then
/// the replaced request's appointment is cancelled with `PATCH /appointments/{id}`
/// `{"appt": {"cancelled": true}}`, before the row is marked. A retry finds the new one by its
/// marker and cancels again (cancelling a cancelled appointment changes nothing): one new
/// appointment, the old one cancelled once in effect.
public final class NexHealthWritebackWorker: Service {
    let account: NexHealthAccount
    let client: NexHealthClient
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let topics: TopicNames
    let settings: WritebackWorker.Settings
    let logger: Logger
    let pausedUntil: Mutex<ContinuousClock.Instant>

    public init(
        account: NexHealthAccount, client: NexHealthClient, pool: PostgresPool, clock: any PlanRouterClock, topics: TopicNames = .init(),
        settings: WritebackWorker.Settings = .init(), logger: Logger
    ) {
        self.account = account
        self.client = client
        self.pool = pool
        self.clock = clock
        self.topics = topics
        self.settings = settings
        self.logger = logger
        pausedUntil = Mutex(.now)
    }

    public func run() async throws {
        try await RoundLoop.run(name: "nexhealth write-back", idle: settings.idle, logger: logger) { try await self.runOnce() }
    }

    @discardableResult
    public func runOnce() async throws -> Int {
        guard pausedUntil.withLock({ $0 }) <= .now else { return 0 }
        let now = try await clock.now()
        let claimed = try await pool.withTransaction(scopedTo: .allOrganizations) { tx in
            try await WritebacksRepository.claim(
                connector: "nexhealth", offices: account.institutions.map(\.subdomain), limit: settings.batchSize, lease: settings.lease,
                now: now, on: tx)
        }
        for c in claimed { try await perform(c) }
        return claimed.count
    }

    func perform(_ c: ClaimedWriteback) async throws {
        guard let institution = account.institution(c.officeID) else { return }
        do {
            let moving = try await replacedAppointment(c.request, institution)
            if moving == .waiting {
                // The appointment it moves was not submitted yet: the replaced request goes first.
                let now = try await clock.now()
                try await pool.withTransaction(scopedTo: .organization(c.request.organizationID)) {
                    try await WritebacksRepository.release(c.id, error: "waiting for the appointment it moves", now: now, on: $0)
                }
                return
            }
            let id = try await submit(c.request, institution)
            if case .move(let old) = moving, old != id, try await !cancel(old, institution) {
                // The new appointment stands; the old one stays for the front desk, as before moves were written.
                logger.warning(
                    "NexHealth refused to cancel a moved booking's old appointment; it must be cancelled by hand",
                    metadata: ["nexhealth.subdomain": "\(institution.subdomain)", "nexhealth.appointment_id": "\(old)"])
            }
            let now = try await clock.now()
            try await pool.withTransaction(scopedTo: .organization(c.request.organizationID)) { tx in
                _ = try await WritebacksRepository.submit(c.id, appointmentID: institution.appointmentID(id), now: now, on: tx)
            }
            logger.info("appointment submitted to NexHealth", metadata: ["nexhealth.subdomain": "\(institution.subdomain)"])
        } catch let e as OpenDentalError {
            let now = try await clock.now()
            switch e.kind {
            case .refused:
                let reason =
                    "NexHealth refused the appointment (HTTP \(e.status ?? 0)): \(e.message.split(separator: ":").dropFirst().joined(separator: ":").trimmingCharacters(in: .whitespaces).prefix(200))"
                try await pool.withTransaction(scopedTo: .organization(c.request.organizationID)) { tx in
                    try await WritebackOutcome.refused(c, reason: reason, source: institution.source, topics: topics, now: now, on: tx)
                }
            case .rateLimited(let after):
                try await giveBack(c, e, pause: after ?? .seconds(5), now: now)
            case .unauthorized:
                try await giveBack(c, e, pause: .seconds(60), now: now)
            case .transient, .malformed:
                try await giveBack(c, e, pause: .seconds(min(60, 1 << min(c.attempts, 6))), now: now)
            }
        }
    }

    func giveBack(_ c: ClaimedWriteback, _ e: OpenDentalError, pause: Duration, now: Date) async throws {
        logger.warning("nexhealth write-back failed; will retry", metadata: ["error": "\(e)"])
        pausedUntil.withLock { $0 = .now + pause }
        try await pool.withTransaction(scopedTo: .organization(c.request.organizationID)) {
            try await WritebacksRepository.release(c.id, error: String(e.description.prefix(300)), now: now, on: $0)
        }
    }

    /// What a moved booking replaces: the NexHealth appointment the replaced request made (submitted or
    /// written), to cancel; still pending, to wait for; or nothing (refused, unknown, not a move).
    func replacedAppointment(_ r: AppointmentRequest, _ i: NexHealthInstitution) async throws -> WritebackWorker.Replaced {
        guard let replaced = r.replacesRequestID else { return .none }
        let outcome = try await pool.withTransaction(scopedTo: .organization(r.organizationID)) {
            try await WritebacksRepository.outcome(organizationID: r.organizationID, requestID: replaced, on: $0)
        }
        guard let outcome else { return .none }
        if outcome.status == "written" || outcome.status == "submitted", let id = outcome.appointmentID,
            let n = i.number(in: id, kind: "apt")
        {
            return .move(n)
        }
        return outcome.status == "pending" ? .waiting : .none
    }

    /// `PATCH /appointments/{id}` cancelling the moved booking's old appointment (NexHealth's documented way to
    /// reschedule). False when NexHealth refuses (4xx); 429/5xx are thrown, so the claim is given back.
    func cancel(_ id: Int64, _ i: NexHealthInstitution) async throws(OpenDentalError) -> Bool {
        let outcome: Result<JSONValue, OpenDentalError>
        do {
            outcome = .success(
                try await client.patch(
                    "/appointments/\(id)", [("subdomain", i.subdomain)], .object(["appt": .object(["cancelled": .bool(true)])])))
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .success: return true
        case .failure(let e) where e.kind == .refused: return false
        case .failure(let e): throw e
        }
    }

    /// NexHealth's id of the appointment: the one an earlier attempt made, or a new one.
    func submit(_ r: AppointmentRequest, _ i: NexHealthInstitution) async throws(OpenDentalError) -> Int64 {
        func refuse(_ m: String) -> OpenDentalError {
            OpenDentalError(kind: .refused, status: nil, message: "request: \(m)", pms: "nexhealth")
        }
        guard let patient = i.number(in: r.patientID, kind: "pat") else { throw refuse("patient is not one of this institution's") }
        guard let provider = i.number(in: r.providerID, kind: "prov") else { throw refuse("provider is not one of this institution's") }
        guard let location = i.nexLocation(r.locationID) else { throw refuse("location is not mapped") }
        let marker = WritebackWorker.marker(r)
        let scope = [("subdomain", i.subdomain), ("location_id", String(location))]
        let existing = try await client.list(
            "/appointments",
            scope + [
                ("patient_id", String(patient)), ("start", RFC3339.format(r.start.date.addingTimeInterval(-60))),
                ("end", RFC3339.format(r.end.date.addingTimeInterval(60))),
            ])
        if let mine = existing.first(where: { ($0["note"]?.stringValue ?? "").contains(marker) }), let id = mine["id"]?.int64Value {
            return id
        }
        var appt = JSONObjectBuilder()
        appt.set("patient_id", patient)
        appt.set("provider_id", provider)
        if let op = r.operatoryID.flatMap({ i.number(in: $0, kind: "op") }) { appt.set("operatory_id", op) }
        appt.set("start_time", RFC3339.format(r.start.date))
        appt.set("end_time", RFC3339.format(r.end.date))
        appt.set("note", marker)
        let created = try await client.post("/appointments", scope + [("notify_patient", "false")], .object(["appt": appt.value]))
        guard let id = (created["appt"] ?? created)["id"]?.int64Value else {
            throw OpenDentalError(kind: .malformed, status: 201, message: "POST /appointments: no appointment id", pms: "nexhealth")
        }
        return id
    }
}
