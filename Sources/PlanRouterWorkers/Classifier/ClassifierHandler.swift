import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres

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
        var newest: [String: Int] = [:]
        for (i, a) in accepted.enumerated() {
            let k = a.plan.organizationID + "\u{1F}" + a.plan.planID
            if let j = newest[k], accepted[j].plan.acceptedAt >= a.plan.acceptedAt { continue }
            newest[k] = i
        }
        let candidates = newest.values.sorted().map { accepted[$0] }
        let (won, replaced) = try await upsertPlans(candidates, tx, now: now)
        let winners = candidates.filter { won.contains($0.plan.organizationID + "\u{1F}" + $0.plan.planID) }
        try await withdrawEarlierOffers(winners.filter { replaced.contains($0.plan.organizationID + "\u{1F}" + $0.plan.planID) }, tx, now: now)
        let winnerIDs = Set(winners.map { $0.incoming.event.source + "\u{1F}" + $0.incoming.event.id })

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
        let orgs = Array(Set(locs.values)).sorted()
        // Only ids not already there reach ON CONFLICT: its uniqueness check waits for any
        // transaction updating the existing row, and offer workers update their locations'
        // calendar_version in every batch (measured: ~19 ms a batch spent waiting).
        _ = try await tx.execute(
            """
            INSERT INTO organizations (id) SELECT o FROM unnest($1::text[]) AS u(o)
            WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE id = u.o) ON CONFLICT DO NOTHING
            """, orgs)
        let ids = locs.keys.sorted()
        _ = try await tx.execute(
            """
            INSERT INTO locations (id, organization_id) SELECT l, o FROM unnest($1::text[], $2::text[]) AS u(l, o)
            WHERE NOT EXISTS (SELECT 1 FROM locations WHERE id = u.l) ON CONFLICT DO NOTHING
            """, ids, ids.map { locs[$0]! })
    }

    /// Inserts new plans and replaces older acceptances; returns the keys written and, of those, the ones that replaced a plan.
    func upsertPlans(_ c: [Accepted], _ tx: PostgresConnection, now: Date) async throws -> (written: Set<String>, replaced: Set<String>) {
        let rows = try await tx.query(
            """
            INSERT INTO plans (organization_id, plan_id, location_id, patient_id, provider_id, coordinator_id, accepted_at,
                               acceptance_source, total_fee_cents, patient_portion_cents, patient, status, source, source_event_id,
                               received_at, updated_at)
            SELECT o, p, l, pt, pr, co, at, src, tot, por, pat, 'accepted', s, e, $15, $15
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                        $9::int8[], $10::int8[], $11::jsonb[], $12::text[], $13::text[], $14::int4[])
                 AS u(o, p, l, pt, pr, co, at, src, tot, por, pat, s, e, ord)
            ORDER BY ord
            ON CONFLICT (organization_id, plan_id) DO UPDATE SET
                location_id = EXCLUDED.location_id, patient_id = EXCLUDED.patient_id, provider_id = EXCLUDED.provider_id,
                coordinator_id = EXCLUDED.coordinator_id, accepted_at = EXCLUDED.accepted_at,
                acceptance_source = EXCLUDED.acceptance_source, total_fee_cents = EXCLUDED.total_fee_cents,
                patient_portion_cents = EXCLUDED.patient_portion_cents, patient = EXCLUDED.patient, status = 'accepted',
                source = EXCLUDED.source, source_event_id = EXCLUDED.source_event_id, updated_at = EXCLUDED.updated_at
            WHERE plans.accepted_at < EXCLUDED.accepted_at
            RETURNING organization_id, plan_id, xmax <> 0
            """,
            c.map(\.plan.organizationID), c.map(\.plan.planID), c.map(\.plan.locationID), c.map(\.plan.patient.id),
            c.map(\.plan.providerID), c.map(\.plan.coordinatorID), c.map(\.plan.acceptedAt), c.map(\.plan.acceptanceSource),
            c.map(\.plan.totalFeeCents), c.map(\.plan.patientPortionCents),
            c.map { PostgresJSON($0.patient.serialized()) },
            c.map(\.incoming.event.source), c.map(\.incoming.event.id), c.indices.map { Int32($0) }, now)
        var out = Set<String>()
        var replaced = Set<String>()
        for r in rows {
            let key = try r.decode(0, as: String.self) + "\u{1F}" + (try r.decode(1, as: String.self))
            out.insert(key)
            // xmax is set on a row version written by ON CONFLICT DO UPDATE, not by a plain insert.
            if try r.decode(2, as: Bool.self) { replaced.insert(key) }
        }
        return (out, replaced)
    }

    /// A re-classified case starts over: its holds are released, its ladder and open tasks cancelled.
    func withdrawEarlierOffers(_ w: [Accepted], _ tx: PostgresConnection, now: Date) async throws {
        try await CaseWithdrawal.withdraw(
            organizations: w.map(\.plan.organizationID), plans: w.map(\.plan.planID), holdReason: "plan_changed", taskOutcome: "plan_changed",
            now: now, in: tx)
    }

    /// A modified plan as a newer acceptance: the stored patient and provider with the new
    /// procedures, accepted at the time of the change. Unknown plans are left to their
    /// acceptance, which carries the full plan.
    func modifiedAsAcceptances(_ events: [IncomingEvent], _ tx: PostgresConnection) async throws -> ([Accepted], [DeadLetter]) {
        let rows = try await tx.query(
            """
            SELECT organization_id, plan_id, location_id, acceptance_source, patient, provider_id, coordinator_id, total_fee_cents, patient_portion_cents
            FROM plans WHERE (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """, events.map { $0.event.data["organization_id"]!.stringValue! }, events.map { $0.event.data["plan_id"]!.stringValue! })
        var stored: [String: PostgresRow] = [:]
        for r in rows { stored[try r.decode(0, as: String.self) + "\u{1F}" + (try r.decode(1, as: String.self))] = r }
        var out: [Accepted] = []
        var letters: [DeadLetter] = []
        for e in events {
            let d = e.event.data
            guard let r = stored[d["organization_id"]!.stringValue! + "\u{1F}" + d["plan_id"]!.stringValue!] else { continue }
            guard let procedures = d["procedures"] else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: a modified plan needs its procedures"))
                continue
            }
            var data: JSONObject = [
                "organization_id": d["organization_id"]!, "location_id": .string(try r.decode(2, as: String.self)), "plan_id": d["plan_id"]!,
                "accepted_at": d["changed_at"]!, "acceptance_source": .string(try r.decode(3, as: String.self)),
                "patient": (try? JSONParser.parse(try r.decode(4, as: PostgresJSON.self).text)) ?? .null,
                "provider_id": .string(try r.decode(5, as: String.self)), "procedures": procedures,
                "total_fee_cents": d["total_fee_cents"] ?? .int(((try? PlanAccepted.procedures(procedures)) ?? []).map(\.feeCents).reduce(0, +)),
            ]
            if let c = try r.decode(6, as: String?.self) { data["coordinator_id"] = .string(c) }
            if let portion = d["patient_portion_cents"] { data["patient_portion_cents"] = portion }
            do { out.append(Accepted(incoming: e, plan: try PlanAccepted(data: .object(data)), patient: data["patient"]!)) } catch {
                letters.append(DeadLetter(message: e.message, kind: error.kind.rawValue, reason: error.reason))
            }
        }
        return (out, letters)
    }

    /// `replacing`: keys of the plans that were stored before this batch; only they can
    /// have procedures to delete (a new plan's DELETE found nothing yet cost ~25 ms a batch).
    func replaceProcedures(_ w: [Accepted], replacing: Set<String>, _ tx: PostgresConnection) async throws {
        guard !w.isEmpty else { return }
        let stored = w.filter { replacing.contains($0.plan.organizationID + "\u{1F}" + $0.plan.planID) }
        if !stored.isEmpty {
            _ = try await tx.execute(
                "DELETE FROM plan_procedures pp USING unnest($1::text[], $2::text[]) AS u(o, p) WHERE pp.organization_id = u.o AND pp.plan_id = u.p",
                stored.map(\.plan.organizationID), stored.map(\.plan.planID))
        }
        var o: [String] = [], p: [String] = [], line: [Int32] = [], sys: [String] = [], code: [String] = [], desc: [String] = []
        var tooth: [String?] = [], fee: [Int64] = [], minutes: [Int32?] = [], role: [String?] = []
        for a in w {
            for (i, pr) in a.plan.procedures.enumerated() {
                o.append(a.plan.organizationID)
                p.append(a.plan.planID)
                line.append(Int32(i + 1))
                sys.append(pr.codeSystem)
                code.append(pr.code)
                desc.append(pr.description)
                tooth.append(pr.tooth)
                fee.append(pr.feeCents)
                minutes.append(pr.minutes.map { Int32($0) })
                role.append(pr.providerRole)
            }
        }
        _ = try await tx.execute(
            """
            INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, tooth, fee_cents, minutes, provider_role)
            SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int4[], $10::text[])
            """,
            o, p, line, sys, code, desc, tooth, fee, minutes, role)
    }

    func insertClassifications(_ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date) async throws {
        guard !cs.isEmpty else { return }
        // Reasons travel as one JSON array per plan (text[][] cannot be ragged).
        _ = try await tx.execute(
            """
            INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                first_offer_sla_seconds, hold_window_seconds, provider_role, rules_version, reasons, accepted_at, classified_at)
            SELECT o, p, l, t, pa, cm, v, d, sla, hw, r, rv, ARRAY(SELECT jsonb_array_elements_text(rs)), at, $15
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int8[], $8::int8[], $9::int4[],
                        $10::int4[], $11::text[], $12::int4[], $13::jsonb[], $14::timestamptz[])
                 AS u(o, p, l, t, pa, cm, v, d, sla, hw, r, rv, rs, at)
            """,
            cs.map(\.0.plan.organizationID), cs.map(\.0.plan.planID), cs.map(\.0.plan.locationID), cs.map(\.1.tier),
            cs.map(\.1.path.rawValue), cs.map { Int32($0.1.chairMinutes) }, cs.map(\.1.valueCents), cs.map(\.1.depositCents),
            cs.map { Int32($0.1.firstOfferSLASeconds) }, cs.map { Int32($0.1.holdWindowSeconds) }, cs.map(\.1.providerRole),
            cs.map { Int32($0.1.rulesVersion) },
            cs.map { PostgresJSON(JSONValue.array($0.1.reasons.map { .string($0) }).serialized()) }, cs.map(\.0.plan.acceptedAt), now)
    }

    func insertPlanEvents(
        _ all: [Accepted], winnerIDs: Set<String>, _ cs: [(Accepted, Classification)], _ tx: PostgresConnection, now: Date
    ) async throws {
        var o: [String] = [], p: [String] = [], l: [String] = [], kind: [String] = [], src: [String?] = [], eid: [String?] = []
        var at: [Date] = [], detail: [PostgresJSON] = []
        for a in all {
            let won = winnerIDs.contains(a.incoming.event.source + "\u{1F}" + a.incoming.event.id)
            o.append(a.plan.organizationID)
            p.append(a.plan.planID)
            l.append(a.plan.locationID)
            let base = a.incoming.event.type == .planChanged ? "modified" : "accepted"
            kind.append(won ? base : "\(base)_stale")
            src.append(a.incoming.event.source)
            eid.append(a.incoming.event.id)
            at.append(a.plan.acceptedAt)
            let d: JSONObject = ["total_fee_cents": .int(a.plan.totalFeeCents), "procedures": .int(Int64(a.plan.procedures.count))]
            detail.append(PostgresJSON(JSONValue.object(d).serialized()))
        }
        for (a, c) in cs {
            o.append(a.plan.organizationID)
            p.append(a.plan.planID)
            l.append(a.plan.locationID)
            kind.append("classified")
            src.append(nil)
            eid.append(nil)
            at.append(now)
            let d: JSONObject = [
                "tier": .string(c.tier), "path": .string(c.path.rawValue), "chair_minutes": .int(Int64(c.chairMinutes)),
                "deposit_cents": .int(c.depositCents), "rules_version": .int(Int64(c.rulesVersion)), "summary": .string(c.summary),
            ]
            detail.append(PostgresJSON(JSONValue.object(d).serialized()))
        }
        _ = try await tx.execute(
            """
            INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
            SELECT o, p, l, k, s, e, at, $9, d
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::jsonb[])
                 AS u(o, p, l, k, s, e, at, d)
            """,
            o, p, l, kind, src, eid, at, detail, now)
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
