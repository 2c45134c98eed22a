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
    public let eventTypes: Set<EventType> = [.planAccepted, .planChanged]
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    let topics: TopicNames
    let settings: ClassifierSettings
    let rules = RulesCache()

    public init(consumerName: String = "planrouter-classifier", topics: TopicNames = .init(), settings: ClassifierSettings = .init()) {
        self.consumerName = consumerName
        self.topics = topics
        self.settings = settings
    }

    struct Accepted {
        var incoming: IncomingEvent
        var plan: PlanAccepted
        /// The patient object as stored (contact details stay in PostgreSQL only).
        var patient: JSONValue

        var key: PlanKey { PlanKey(organizationID: plan.organizationID, planID: plan.planID) }
        var eventKey: EventKey { EventKey(source: incoming.event.source, id: incoming.event.id) }
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        guard !events.isEmpty else { return [] }
        let (inWindow, outside) = outsideAcceptanceWindow(events, now: now)
        var letters = outside
        var accepted: [Accepted] = []
        for e in inWindow where e.event.type == .planAccepted {
            do { accepted.append(Accepted(incoming: e, plan: try PlanAccepted(data: e.event.data), patient: e.event.data["patient"] ?? .null)) } catch {
                letters.append(DeadLetter(message: e.message, kind: error.kind.rawValue, reason: error.reason))
            }
        }
        let modified = inWindow.filter { $0.event.type == .planChanged && $0.event.data["change"]?.stringValue == "modified" }
        if !modified.isEmpty {
            let (asAccepted, refused) = try await modifiedAsAcceptances(modified, tx)
            accepted += asAccepted
            letters += refused
        }
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

        try await replaceProcedures(winners, replacing: replaced, tx)
        var classifications: [(Accepted, Classification)] = []
        for w in winners {
            let (version, r) = rules.rules(for: w.plan.organizationID)
            classifications.append((w, Classifier.classify(w.plan, rules: r, rulesVersion: version)))
        }
        try await insertClassifications(classifications, tx, now: now)
        try await insertPlanEvents(accepted, winnerIDs: winnerIDs, classifications, tx, now: now)
        for (w, c) in classifications {
            outbox.append(classifiedEvent(w, c, now: now), topic: topics[.planClassified])
        }
        return letters
    }

    /// Acceptances (and modifications, whose `changed_at` becomes the acceptance time) dated
    /// outside the acceptance window around the batch's "now" are refused as `invalid_data`.
    func outsideAcceptanceWindow(_ events: [IncomingEvent], now: Date) -> ([IncomingEvent], [DeadLetter]) {
        var keep: [IncomingEvent] = []
        var letters: [DeadLetter] = []
        for e in events {
            let field = e.event.type == .planAccepted ? "accepted_at" : "changed_at"
            if e.event.type == .planAccepted || e.event.data["change"]?.stringValue == "modified",
                let time = e.event.data[field]?.stringValue.flatMap(RFC3339.parse),
                let reason = settings.acceptanceWindow.violation(time, now: now, field: "/data/\(field)")
            {
                letters.append(DeadLetter(message: e.message, kind: EventRejection.Kind.invalidData.rawValue, reason: reason))
            } else {
                keep.append(e)
            }
        }
        return (keep, letters)
    }

    func ensureLocations(_ accepted: [Accepted], _ tx: PostgresConnection) async throws {
        var locs: [String: String] = [:]
        for a in accepted { locs[a.plan.locationID] = a.plan.organizationID }
        try await LocationsRepository.ensure(locations: locs, on: tx)
    }

    /// Inserts new plans and replaces older acceptances; returns the keys written and, of those, the ones that replaced a plan.
    func upsertPlans(_ c: [Accepted], _ tx: PostgresConnection, now: Date) async throws -> (written: Set<PlanKey>, replaced: Set<PlanKey>) {
        try await PlansRepository.upsertAcceptances(
            c.map {
                AcceptanceRow(
                    key: $0.key, locationID: $0.plan.locationID, patientID: $0.plan.patient.id, providerID: $0.plan.providerID,
                    coordinatorID: $0.plan.coordinatorID, acceptedAt: $0.plan.acceptedAt, acceptanceSource: $0.plan.acceptanceSource,
                    totalFeeCents: $0.plan.totalFeeCents, patientPortionCents: $0.plan.patientPortionCents, patient: $0.patient, event: $0.eventKey)
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
    func modifiedAsAcceptances(_ events: [IncomingEvent], _ tx: PostgresConnection) async throws -> ([Accepted], [DeadLetter]) {
        let rows = try await PlansRepository.stored(
            events.map { PlanKey(organizationID: $0.event.data["organization_id"]!.stringValue!, planID: $0.event.data["plan_id"]!.stringValue!) }, on: tx)
        var stored: [PlanKey: StoredPlan] = [:]
        for r in rows { stored[r.key] = r }
        var out: [Accepted] = []
        var letters: [DeadLetter] = []
        for e in events {
            let d = e.event.data
            guard let r = stored[PlanKey(organizationID: d["organization_id"]!.stringValue!, planID: d["plan_id"]!.stringValue!)] else { continue }
            guard let procedures = d["procedures"] else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: a modified plan needs its procedures"))
                continue
            }
            var data: JSONObject = [
                "organization_id": d["organization_id"]!, "location_id": .string(r.locationID), "plan_id": d["plan_id"]!,
                "accepted_at": d["changed_at"]!, "acceptance_source": .string(r.acceptanceSource),
                "patient": (try? JSONParser.parse(r.patientJSON)) ?? .null,
                "provider_id": .string(r.providerID), "procedures": procedures,
                "total_fee_cents": d["total_fee_cents"] ?? .int(((try? PlanAccepted.procedures(procedures)) ?? []).map(\.feeCents).reduce(0, +)),
            ]
            if let c = r.coordinatorID { data["coordinator_id"] = .string(c) }
            if let portion = d["patient_portion_cents"] { data["patient_portion_cents"] = portion }
            do { out.append(Accepted(incoming: e, plan: try PlanAccepted(data: .object(data)), patient: data["patient"]!)) } catch {
                letters.append(DeadLetter(message: e.message, kind: error.kind.rawValue, reason: error.reason))
            }
        }
        return (out, letters)
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
                        key: a.key, line: Int32(i + 1), codeSystem: pr.codeSystem, code: pr.code, description: pr.description, tooth: pr.tooth,
                        feeCents: pr.feeCents, minutes: pr.minutes.map { Int32($0) }, providerRole: pr.providerRole))
            }
        }
        try await PlansRepository.replaceProcedures(replacing: w.filter { replacing.contains($0.key) }.map(\.key), rows, on: tx)
    }

    func insertClassifications(_ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date) async throws {
        try await ClassificationsRepository.insert(cs.map { ($0.0.key, $0.0.plan.locationID, $0.0.plan.acceptedAt, $0.1) }, now: now, on: tx)
    }

    func insertPlanEvents(
        _ all: [Accepted], winnerIDs: Set<EventKey>, _ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date
    ) async throws {
        var rows: [PlanEventRow] = []
        for a in all {
            let won = winnerIDs.contains(a.eventKey)
            let base = a.incoming.event.type == .planChanged ? "modified" : "accepted"
            let d: JSONObject = ["total_fee_cents": .int(a.plan.totalFeeCents), "procedures": .int(Int64(a.plan.procedures.count))]
            rows.append(
                PlanEventRow(
                    organizationID: a.plan.organizationID, planID: a.plan.planID, locationID: a.plan.locationID, kind: won ? base : "\(base)_stale",
                    source: a.incoming.event.source, eventID: a.incoming.event.id, occurredAt: a.plan.acceptedAt, detail: .object(d)))
        }
        for (a, c) in cs {
            let d: JSONObject = [
                "tier": .string(c.tier), "path": .string(c.path.rawValue), "chair_minutes": .int(Int64(c.chairMinutes)),
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
        var d: JSONObject = [
            "organization_id": .string(a.plan.organizationID), "location_id": .string(a.plan.locationID),
            "plan_id": .string(a.plan.planID), "patient_id": .string(a.plan.patient.id), "provider_id": .string(a.plan.providerID),
        ]
        if let co = a.plan.coordinatorID { d["coordinator_id"] = .string(co) }
        d["accepted_at"] = .string(RFC3339.format(a.plan.acceptedAt))
        d["classified_at"] = .string(RFC3339.format(now))
        d["tier"] = .string(c.tier)
        d["path"] = .string(c.path.rawValue)
        d["chair_minutes"] = .int(Int64(c.chairMinutes))
        d["value_cents"] = .int(c.valueCents)
        d["deposit_cents"] = .int(c.depositCents)
        d["first_offer_sla_minutes"] = .int(Int64(max(1, c.firstOfferSLASeconds / 60)))
        if let r = c.providerRole { d["provider_role"] = .string(r) }
        d["rules_version"] = .int(Int64(c.rulesVersion))
        d["reasons"] = .array(c.reasons.map { .string(String($0.prefix(300))) })
        return CloudEvent(
            id: UUID().uuidString.lowercased(), source: "planrouter/classifier", type: .planClassified, time: now,
            subject: a.plan.planID, data: .object(d))
    }
}
