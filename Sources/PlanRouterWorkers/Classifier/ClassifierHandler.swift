import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Stage 1 and 2: stores accepted plans and classifies them.
///
/// Per batch, a fixed number of statements whatever the batch size: organizations and
/// locations, plans (upsert that only a newer acceptance wins), procedures,
/// classifications, plan events. A late, older acceptance is recorded as
/// `accepted_stale` and changes nothing else.
public struct ClassifierHandler: EventHandler {
    public let consumerName: String
    /// plan.changed matters here only as `modified`: a modified plan is re-classified
    /// (and so re-offered) like a newer acceptance; the other changes are the escalation
    /// worker's (case lifecycle).
    /// plan.presented is recorded for the acceptance rate only.
    public let eventTypes: Set<EventType> = [.planAccepted, .planChanged, .planPresented]
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    let topics: TopicNames
    let settings: ClassifierSettings
    let rules = RulesCache()

    public init(consumerName: String = "planrouter-classifier", topics: TopicNames = .init(), settings: ClassifierSettings = .init()) {
        self.consumerName = consumerName
        self.topics = topics
        self.settings = settings
    }

    /// An acceptance, or a modified plan read as one.
    struct Accepted {
        var incoming: IncomingEvent
        var plan: PlanAccepted

        var key: PlanKey { PlanKey(organizationID: plan.organizationID, planID: plan.planID) }
        var eventKey: EventKey { EventKey(source: incoming.event.source, id: incoming.event.id) }
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        guard !events.isEmpty else { return [] }
        var letters: [DeadLetter] = []
        // Decoded once at the edge; acceptances outside the window are refused before anything is stored.
        var accepted = inWindow(
            IncomingEvent.decodeAll(events, as: PlanAccepted.self, letters: &letters), at: \.acceptedAt,
            field: "accepted_at", now: now, letters: &letters
        ).map { Accepted(incoming: $0.incoming, plan: $0.data) }
        accepted = Self.refuseForeignVisits(accepted, letters: &letters)
        let modified = inWindow(
            IncomingEvent.decodeAll(events, as: PlanChanged.self, letters: &letters).filter { $0.data.change == .modified },
            at: \.changedAt, field: "changed_at", now: now, letters: &letters)
        if !modified.isEmpty {
            let (asAccepted, refused) = try await modifiedAsAcceptances(modified, tx)
            accepted += asAccepted
            letters += refused
        }
        try await recordPresentations(IncomingEvent.decodeAll(events, as: PlanPresented.self, letters: &letters), tx)
        guard !accepted.isEmpty else { return letters }
        try await rules.refreshIfNeeded(on: tx)
        try await ensureLocations(accepted, tx)

        // Within the batch, the newest acceptance of each plan is the candidate.
        var newest: [PlanKey: Int] = [:]
        for (i, a) in accepted.enumerated() {
            let k = a.key
            if let j = newest[k], accepted[j].plan.acceptedAt >= a.plan.acceptedAt { continue }
            newest[k] = i
        }
        let candidates = newest.values.sorted().map { accepted[$0] }
        let (won, replaced) = try await upsertPlans(candidates, tx, now: now)
        let winners = candidates.filter { won.contains($0.key) }
        try await withdrawEarlierOffers(winners.filter { replaced.contains($0.key) }, tx, now: now)
        let winnerIDs = Set(winners.map(\.eventKey))
        // The PMS's SMS consent, as of the newest acceptance, applies to the organization's texts (docs/messaging.md).
        try await SuppressionsRepository.applyPMSConsent(
            winners.compactMap { w in
                w.plan.patient.phone.map {
                    .init(organizationID: w.plan.organizationID, phone: $0, smsConsent: w.plan.patient.smsConsent)
                }
            }, now: now, on: tx)

        try await replaceProcedures(winners, replacing: replaced, tx)
        var classifications: [(Accepted, Classification)] = []
        for w in winners {
            let (version, r) = rules.rules(for: w.plan.organizationID)
            classifications.append((w, Classifier.classify(w.plan, rules: r, rulesVersion: version)))
        }
        try await insertClassifications(classifications, tx, now: now)
        try await storeLaterVisits(classifications, replacing: replaced, tx, now: now)
        try await insertPlanEvents(accepted, winnerIDs: winnerIDs, classifications, tx, now: now)
        for (w, c) in classifications {
            outbox.append(classifiedEvent(w, c, now: now), topic: topics[.planClassified])
        }
        return letters
    }

    /// Acceptances (and modifications, whose `changed_at` becomes the acceptance time) dated
    /// outside the acceptance window around the batch's "now" are refused as `invalid_data`.
    /// Keeps the events whose time lies inside the acceptance window around the batch's
    /// `now` (the worker's clock); the others become `invalid_data` dead letters.
    func inWindow<D: EventData>(
        _ events: [Decoded<D>], at time: KeyPath<D, Date>, field: String, now: Date, letters: inout [DeadLetter]
    ) -> [Decoded<D>] {
        events.filter { e in
            guard let reason = settings.acceptanceWindow.violation(e.data[keyPath: time], now: now, field: "/data/\(field)") else {
                return true
            }
            letters.append(DeadLetter(message: e.incoming.message, kind: EventRejection.Kind.invalidData.rawValue, reason: reason))
            return false
        }
    }

    func ensureLocations(_ accepted: [Accepted], _ tx: PostgresConnection) async throws {
        try await LocationsRepository.ensure(
            locations: accepted.map { LocationKey(organizationID: $0.plan.organizationID, locationID: $0.plan.locationID) }, on: tx)
    }

    /// Inserts new plans and replaces older acceptances; returns the keys written and, of those, the ones that replaced a plan.
    func upsertPlans(_ c: [Accepted], _ tx: PostgresConnection, now: Date) async throws -> (written: Set<PlanKey>, replaced: Set<PlanKey>) {
        try await PlansRepository.upsertAcceptances(
            c.map {
                AcceptanceRow(
                    key: $0.key, locationID: $0.plan.locationID, patientID: $0.plan.patient.id, providerID: $0.plan.providerID,
                    coordinatorID: $0.plan.coordinatorID, acceptedAt: $0.plan.acceptedAt, acceptanceSource: $0.plan.acceptedVia.rawValue,
                    totalFeeCents: $0.plan.totalFeeCents, patientPortionCents: $0.plan.patientPortionCents, patient: $0.plan.patient.json,
                    event: $0.eventKey)
            }, now: now, on: tx)
    }

    /// A re-classified case starts over: its holds are released, its ladder and open tasks cancelled.
    func withdrawEarlierOffers(_ w: [Accepted], _ tx: PostgresConnection, now: Date) async throws {
        try await CaseWithdrawal.withdraw(
            w.map(\.key), holdReason: "plan_changed", taskOutcome: "plan_changed", now: now, on: tx)
    }

    /// A modified plan as a newer acceptance: the stored patient and provider with the new
    /// procedures, accepted at the time of the change. Unknown plans are left to their
    /// acceptance, which carries the full plan.
    func modifiedAsAcceptances(_ events: [Decoded<PlanChanged>], _ tx: PostgresConnection) async throws -> ([Accepted], [DeadLetter]) {
        func key(_ c: PlanChanged) -> PlanKey { PlanKey(organizationID: c.organizationID, planID: c.planID) }
        let rows = try await PlansRepository.stored(events.map { key($0.data) }, on: tx)
        var stored: [PlanKey: StoredPlan] = [:]
        for r in rows { stored[r.key] = r }
        var out: [Accepted] = []
        var letters: [DeadLetter] = []
        for e in events {
            let change = e.data
            guard let r = stored[key(change)] else { continue }
            guard let procedures = change.procedures else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: a modified plan needs its procedures"))
                continue
            }
            do {
                let plan = PlanAccepted(
                    organizationID: change.organizationID, locationID: r.locationID, planID: change.planID, acceptedAt: change.changedAt,
                    acceptedVia: try Self.storedAcceptanceSource(r.acceptanceSource), patient: try Self.storedPatient(r.patientJSON),
                    providerID: r.providerID, coordinatorID: r.coordinatorID, procedures: procedures,
                    totalFeeCents: change.totalFeeCents ?? procedures.map(\.feeCents).reduce(0, +),
                    patientPortionCents: change.patientPortionCents)
                out.append(Accepted(incoming: e.incoming, plan: plan))
            } catch {
                letters.append(DeadLetter(message: e.message, rejection: error))
            }
        }
        return (out, letters)
    }

    /// The patient object the plan's acceptance stored.
    static func storedPatient(_ text: String) throws(EventRejection) -> PlanAccepted.Patient {
        guard let json = try? JSONParser.parse(text) else {
            throw EventRejection(.invalidData, "/data/patient: the stored patient is not JSON")
        }
        return try PlanAccepted.Patient(try JSONReader.object(json, path: "/data/patient"))
    }

    static func storedAcceptanceSource(_ text: String) throws(EventRejection) -> AcceptanceSource {
        guard let source = AcceptanceSource(rawValue: text) else {
            throw EventRejection(.invalidData, "/data/acceptance_source: the stored acceptance source is not one of the contract's")
        }
        return source
    }

    /// `replacing`: keys of the plans that were stored before this batch; only they can
    /// have procedures to delete (a new plan's DELETE found nothing yet cost ~25 ms a batch).
    func replaceProcedures(_ w: [Accepted], replacing: Set<PlanKey>, _ tx: PostgresConnection) async throws {
        guard !w.isEmpty else { return }
        var rows: [ProcedureRow] = []
        for a in w {
            for (i, pr) in a.plan.procedures.enumerated() {
                rows.append(
                    ProcedureRow(
                        key: a.key, line: Int32(i + 1), codeSystem: (pr.system ?? .cdt).rawValue, code: pr.code,
                        description: pr.description,
                        tooth: pr.tooth, feeCents: pr.feeCents, minutes: pr.minutes.map { Int32($0) }, providerRole: pr.role?.rawValue))
            }
        }
        try await PlansRepository.replaceProcedures(replacing: w.filter { replacing.contains($0.key) }.map(\.key), rows, on: tx)
    }

    func insertClassifications(_ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date) async throws {
        try await ClassificationsRepository.insert(
            cs.map { ($0.0.key, $0.0.plan.locationID, $0.0.plan.acceptedAt, $0.1) }, now: now, on: tx)
    }

    func insertPlanEvents(
        _ all: [Accepted], winnerIDs: Set<EventKey>, _ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date
    ) async throws {
        var rows: [PlanEventRow] = []
        for a in all {
            let won = winnerIDs.contains(a.eventKey)
            let base = a.incoming.event.type == .planChanged ? "modified" : "accepted"
            // The version's values, so analytics as of any instant read them from the history rather than
            // from the plans row, which the next version overwrites (docs/analytics.md).
            var d: JSONObject = [
                "total_fee_cents": .int(a.plan.totalFeeCents), "procedures": .int(Int64(a.plan.procedures.count)),
                "patient_portion_cents": a.plan.patientPortionCents.map(JSONValue.int) ?? .null,
                "provider_id": .string(a.plan.providerID), "coordinator_id": a.plan.coordinatorID.map(JSONValue.string) ?? .null,
            ]
            if let v = a.plan.visit { for e in Self.visitDetail(v) { d[e.key] = e.value } }
            rows.append(
                PlanEventRow(
                    organizationID: a.plan.organizationID, planID: a.plan.planID, locationID: a.plan.locationID,
                    kind: won ? base : "\(base)_stale",
                    source: a.incoming.event.source, eventID: a.incoming.event.id, occurredAt: a.plan.acceptedAt, detail: .object(d)))
        }
        for (a, c) in cs {
            let d: JSONObject = [
                "tier": .string(c.tier.rawValue), "path": .string(c.path.rawValue), "chair_minutes": .int(Int64(c.chairMinutes)),
                "deposit_cents": .int(c.depositCents), "rules_version": .int(Int64(c.rulesVersion)), "summary": .string(c.summary),
            ]
            rows.append(
                PlanEventRow(
                    organizationID: a.plan.organizationID, planID: a.plan.planID, locationID: a.plan.locationID, kind: "classified",
                    occurredAt: now, detail: .object(d)))
        }
        try await PlanEventsRepository.append(rows, recordedAt: now, on: tx)
    }

    func classifiedEvent(_ a: Accepted, _ c: Classification, now: Date) -> CloudEvent {
        CloudEvent(
            id: UUID().uuidString.lowercased(), source: "planrouter/classifier", time: now, subject: a.plan.planID,
            data: PlanClassified(plan: a.plan, classification: c, classifiedAt: now))
    }
}
