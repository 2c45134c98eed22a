import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import ServiceLifecycle

/// Works off the deliveries the public webhook recorded (`nexhealth_deliveries`), oldest first,
/// each in one transaction with what it causes:
/// - a treatment plan `accepted` → plan.accepted (the plan read from the API when the webhook
///   carries it without procedures; the patient's contact details from `GET /patients/{id}`);
/// - `appointment_created` / `appointment_updated` → appointment.changed;
/// - `appointment_insertion.complete` / `.failed` / `.timed_out` of PlanRouter's own write-back
///   (the marker in the note) → the write-back closed as written or refused; of anyone else's →
///   appointment.changed;
/// - anything not in the shape read → a dead letter with the reason only; other events are ignored.
/// A NexHealth API failure gives the delivery back for a later round.
public final class NexHealthIntake: Service {
    public struct Settings: Sendable {
        public var lease: Duration = .seconds(120)
        public var idle: Duration = .milliseconds(500)
        public var batchSize = 20
        public init() {}
    }

    let account: NexHealthAccount
    let client: NexHealthClient
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let topics: TopicNames
    let settings: Settings
    let logger: Logger

    public init(
        account: NexHealthAccount, client: NexHealthClient, pool: PostgresPool, clock: any PlanRouterClock, topics: TopicNames = .init(),
        settings: Settings = .init(), logger: Logger
    ) {
        self.account = account
        self.client = client
        self.pool = pool
        self.clock = clock
        self.topics = topics
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        try await RoundLoop.run(name: "nexhealth intake", idle: settings.idle, logger: logger) { try await self.runOnce() }
    }

    /// Claims and works one round of deliveries; returns how many it claimed.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = try await clock.now()
        let claimed = try await pool.withTransaction(scopedTo: .allOrganizations) { tx in
            try await NexHealthDeliveriesRepository.claim(limit: settings.batchSize, lease: settings.lease, now: now, on: tx)
        }
        for d in claimed { try await work(d) }
        return claimed.count
    }

    /// What one delivery causes, decided before its transaction (API reads happen here).
    enum Outcome {
        case events([(event: CloudEvent, topic: String)], producer: ConnectorOffice)
        case written(writeback: String, WritebackOutcome.Written)
        case refused(writeback: String, reason: String)
        case dead(reason: String, topic: String)
        case ignored
    }

    func work(_ d: ClaimedNexHealthDelivery) async throws {
        let outcome: Outcome
        do {
            outcome = try await decide(d)
        } catch let e as OpenDentalError {
            logger.warning("nexhealth intake: API failed; delivery given back", metadata: ["error": "\(e)"])
            let now = try await clock.now()
            try await pool.withTransaction(scopedTo: .organization(d.organizationID)) { tx in
                try await NexHealthDeliveriesRepository.release(d.id, error: String(e.description.prefix(300)), now: now, on: tx)
            }
            return
        } catch let e as NexHealthShapeError {
            outcome = .dead(reason: e.description, topic: topics[Self.eventType(of: d.eventName)])
        }
        let now = try await clock.now()
        try await pool.withTransaction(scopedTo: .organization(d.organizationID)) { tx in
            guard try await NexHealthDeliveriesRepository.close(d.id, dead: outcome.deadReason, now: now, on: tx) else { return }
            var outbox = OutboxBatch()
            switch outcome {
            case .events(let events, let producer):
                let fresh = try await ConnectorStateRepository.recordProduced(producer, events.map(\.event.id), now: now, on: tx)
                for e in events where fresh.contains(e.event.id) { outbox.append(e.event, topic: e.topic) }
            case .written(let requestID, let w):
                if let c = try await WritebacksRepository.open(organizationID: d.organizationID, requestID: requestID, on: tx) {
                    try await WritebackOutcome.written(c, w, topics: topics, now: now, on: tx)
                }
            case .refused(let requestID, let reason):
                if let c = try await WritebacksRepository.open(organizationID: d.organizationID, requestID: requestID, on: tx) {
                    try await WritebackOutcome.refused(
                        c, reason: reason, source: "nexhealth/\(d.subdomain)", topics: topics, now: now, on: tx)
                }
            case .dead(let reason, let topic):
                outbox.append(Self.deadLetter(d, reason: reason, topic: topic, now: now))
            case .ignored:
                break
            }
            try await outbox.insert(on: tx, now: now)
        }
    }

    static func eventType(of eventName: String) -> EventType {
        eventName.hasPrefix("treatment_plan") ? .planAccepted : .appointmentChanged
    }

    /// The delivery's digest, event and reason: no contents.
    static func deadLetter(_ d: ClaimedNexHealthDelivery, reason: String, topic: String, now: Date) -> OutboxRecord {
        let payload: JSONValue = .object([
            "connector": "nexhealth", "subdomain": .string(d.subdomain), "event_name": .string(d.eventName),
            "delivery": .string(d.deliveryKey), "reason": .string(reason),
        ])
        return OutboxRecord(
            topic: TopicNames.deadLetter(of: topic), key: Array(d.subdomain.utf8), eventID: "nexhealth-dlq-\(d.deliveryKey)",
            payload: payload.serializedBytes(),
            headers: [
                "dlq.reason": String(reason.prefix(500)), "dlq.kind": "malformed_record", "dlq.consumer": "connector-nexhealth",
                "dlq.source": "nexhealth/\(d.subdomain)", "dlq.time": RFC3339.format(now),
            ])
    }

    func decide(_ d: ClaimedNexHealthDelivery) async throws -> Outcome {
        guard let institution = account.institution(d.subdomain), institution.organizationID == d.organizationID else {
            return .dead(reason: "subdomain \(d.subdomain) is not configured for this organization", topic: topics[.appointmentChanged])
        }
        let body: JSONValue
        do { body = try JSONParser.parse(d.body) } catch {
            return .dead(reason: "body is not JSON", topic: topics[Self.eventType(of: d.eventName)])
        }
        let data = body["data"] ?? .null
        let parts = d.eventName.split(separator: ".", maxSplits: 1).map(String.init)
        let family = parts.first ?? ""
        let result = parts.count > 1 ? parts[1] : ""
        let producer = ConnectorOffice(organizationID: institution.organizationID, connector: "nexhealth", officeID: institution.subdomain)
        switch family {
        case "appointment_insertion":
            guard let j = data["appointment"] else { throw NexHealthShapeError(record: d.eventName, reason: "no data.appointment") }
            let a = try NHAppointment(j)
            if let requestID = a.writebackRequestID {
                switch result {
                case "complete":
                    return .written(writeback: requestID, try written(a, institution))
                case "failed", "timed_out":
                    // NexHealth's insertion webhooks carry no reason for a failure (documented).
                    return .refused(writeback: requestID, reason: "NexHealth could not write the appointment (\(d.eventName))")
                default:
                    return .ignored
                }
            }
            return result == "complete" ? .events([try changed(a, institution)], producer: producer) : .ignored
        case "appointment_created", "appointment_updated":
            let list = data["appointments"]?.arrayValue ?? data["appointment"].map { [$0] } ?? []
            guard !list.isEmpty else { throw NexHealthShapeError(record: d.eventName, reason: "no data.appointment") }
            return .events(try list.map { try changed(try NHAppointment($0), institution) }, producer: producer)
        case _ where family.hasPrefix("treatment_plan"):
            guard let j = data["treatment_plan"] else { throw NexHealthShapeError(record: d.eventName, reason: "no data.treatment_plan") }
            var plan = try NHTreatmentPlan(j)
            guard plan.status == "accepted" else { return .ignored }
            if plan.procedures == nil || plan.procedures?.isEmpty == true {
                // A thin webhook: the plan as NexHealth has it now.
                plan = try NHTreatmentPlan(try await client.get("/treatment_plans/\(plan.id)", [("subdomain", institution.subdomain)]))
                guard plan.status == "accepted" else { return .ignored }
            }
            return .events([try await accepted(plan, institution, deliveredAt: body["event_time"])], producer: producer)
        default:
            return .ignored
        }
    }

    func changed(_ a: NHAppointment, _ i: NexHealthInstitution) throws -> (event: CloudEvent, topic: String) {
        let w = try written(a, i)
        return (
            CloudEvent(id: w.eventID, source: i.source, time: w.event.changedAt, subject: w.event.planID, data: w.event),
            topics[.appointmentChanged]
        )
    }

    /// The appointment as appointment.changed, with the id its every reading gets.
    func written(_ a: NHAppointment, _ i: NexHealthInstitution) throws -> WritebackOutcome.Written {
        guard let location = i.location(a.locationID) else {
            throw NexHealthShapeError(record: "appointment \(a.id)", reason: "location \(a.locationID) is not mapped")
        }
        let event = AppointmentChanged(
            organizationID: i.organizationID, locationID: location, appointmentID: i.appointmentID(a.id),
            changedAt: nexHealthTime(.string(a.updatedAt)) ?? a.start, status: a.status, patientID: i.patientID(a.patientID),
            providerID: i.providerID(a.providerID), operatoryID: a.operatoryID.map(i.operatoryID), start: a.start,
            lengthMinutes: max(1, Int(a.end.timeIntervalSince(a.start) / 60)))
        let problems = EventValidator.shared.validate(event)
        guard problems.isEmpty else {
            throw NexHealthShapeError(
                record: "appointment \(a.id)", reason: "fails appointment.changed: \(problems.prefix(3).joined(separator: "; "))")
        }
        return WritebackOutcome.Written(
            eventID: "\(i.appointmentID(a.id))-\(a.updatedAt)", event: event, source: i.source,
            producer: ConnectorOffice(organizationID: i.organizationID, connector: "nexhealth", officeID: i.subdomain))
    }

    func accepted(
        _ p: NHTreatmentPlan, _ i: NexHealthInstitution, deliveredAt: JSONValue?
    ) async throws -> (event: CloudEvent, topic: String) {
        let procedures = p.procedures ?? []
        guard !procedures.isEmpty else { throw NexHealthShapeError(record: "treatment_plan \(p.id)", reason: "no procedures") }
        guard let nexLocation = procedures.compactMap(\.locationID).first, let location = i.location(nexLocation) else {
            throw NexHealthShapeError(record: "treatment_plan \(p.id)", reason: "no mapped location on its procedures")
        }
        // The provider most of the procedures carry.
        let counts = Dictionary(procedures.compactMap(\.providerID).map { ($0, 1) }, uniquingKeysWith: +)
        guard let provider = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })?.key else {
            throw NexHealthShapeError(record: "treatment_plan \(p.id)", reason: "no provider on its procedures")
        }
        let patient = try NHPatient(try await client.get("/patients/\(p.patientID)", [("subdomain", i.subdomain)]), id: p.patientID)
        var acceptedAt = p.updatedAt ?? nexHealthTime(deliveredAt)
        if acceptedAt == nil { acceptedAt = try await clock.now() }
        let event = PlanAccepted(
            organizationID: i.organizationID, locationID: location, planID: i.planID(p.id), acceptedAt: acceptedAt!, acceptedVia: .chair,
            patient: .init(
                id: i.patientID(p.patientID), firstName: patient.firstName, phone: patient.phone, email: patient.email,
                preferred: patient.email != nil ? .email : patient.phone != nil ? .phone : .none, smsConsent: false),
            providerID: i.providerID(provider),
            procedures: procedures.map {
                PlanProcedure(code: $0.code, description: $0.name, tooth: $0.tooth, surface: $0.surface, feeCents: $0.feeCents)
            },
            totalFeeCents: procedures.reduce(0) { $0 + $1.feeCents })
        let problems = EventValidator.shared.validate(event)
        guard problems.isEmpty else {
            throw NexHealthShapeError(
                record: "treatment_plan \(p.id)", reason: "fails plan.accepted: \(problems.prefix(3).joined(separator: "; "))")
        }
        // One acceptance per plan: a later delivery of the same plan is the same event.
        let id = "\(i.planID(p.id))-accepted"
        return (CloudEvent(id: id, source: i.source, time: event.acceptedAt, subject: event.planID, data: event), topics[.planAccepted])
    }
}

extension NexHealthIntake.Outcome {
    var deadReason: String? {
        if case .dead(let reason, _) = self { return reason }
        return nil
    }
}
