import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A plan as accepted, ready to be stored.
public struct AcceptanceRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var patientID: String
    public var providerID: String
    public var coordinatorID: String?
    public var acceptedAt: Date
    public var acceptanceSource: String
    public var totalFeeCents: Int64
    public var patientPortionCents: Int64?
    /// The patient object as stored (contact details stay in PostgreSQL only).
    public var patient: JSONValue
    /// The event that carried the acceptance.
    public var event: EventKey

    public init(
        key: PlanKey, locationID: String, patientID: String, providerID: String, coordinatorID: String?, acceptedAt: Date,
        acceptanceSource: String, totalFeeCents: Int64, patientPortionCents: Int64?, patient: JSONValue, event: EventKey
    ) {
        self.key = key
        self.locationID = locationID
        self.patientID = patientID
        self.providerID = providerID
        self.coordinatorID = coordinatorID
        self.acceptedAt = acceptedAt
        self.acceptanceSource = acceptanceSource
        self.totalFeeCents = totalFeeCents
        self.patientPortionCents = patientPortionCents
        self.patient = patient
        self.event = event
    }
}

/// One procedure line of a plan.
public struct ProcedureRow: Sendable {
    public var key: PlanKey
    public var line: Int32
    public var codeSystem: String
    public var code: String
    public var description: String
    public var tooth: String?
    public var feeCents: Int64
    public var minutes: Int32?
    public var providerRole: String?

    public init(
        key: PlanKey, line: Int32, codeSystem: String, code: String, description: String, tooth: String?, feeCents: Int64, minutes: Int32?,
        providerRole: String?
    ) {
        self.key = key
        self.line = line
        self.codeSystem = codeSystem
        self.code = code
        self.description = description
        self.tooth = tooth
        self.feeCents = feeCents
        self.minutes = minutes
        self.providerRole = providerRole
    }
}

/// What a stored plan says, for a modification that arrives as a plan.changed.
public struct StoredPlan: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var acceptanceSource: String
    /// The stored patient object, as JSON text.
    public var patientJSON: String
    public var providerID: String
    public var coordinatorID: String?
    /// The PMS's patient id.
    public var patientID: String = ""
}

/// A plan whose status a transition changed.
public struct TransitionedPlan: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var patientID: String
    public var acceptedAt: Date
    public var coordinatorID: String?
}

/// `plans` and `plan_procedures`.
///
/// **Only this repository writes `plans.status`**: `transition` for every status change
/// of an existing case, and `upsertAcceptances`, which stores new plans and newer
/// acceptances as `accepted` (allowed from every status: a newer acceptance starts the
/// case over). The allowed changes are `CaseStatus`'s table; `transition` restricts its
/// UPDATE to rows whose current status is an allowed predecessor, so a disallowed change
/// never happens in SQL.
public enum PlansRepository {
    /// Inserts new plans and replaces older acceptances (only a newer `accepted_at` wins);
    /// returns the keys written and, of those, the ones that replaced a stored plan.
    /// `first_accepted_at` is left out on purpose: an insert takes its `accepted_at` (migration
    /// 0010's trigger) and a replacement keeps it, so the case's first acceptance survives every
    /// modification and newer acceptance (the analytics count the case from it).
    public static func upsertAcceptances(
        _ c: [AcceptanceRow], now: Date, on tx: PostgresConnection
    ) async throws -> (written: Set<PlanKey>, replaced: Set<PlanKey>) {
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
            c.map(\.key.organizationID), c.map(\.key.planID), c.map(\.locationID), c.map(\.patientID),
            c.map(\.providerID), c.map(\.coordinatorID), c.map(\.acceptedAt), c.map(\.acceptanceSource),
            c.map(\.totalFeeCents), c.map(\.patientPortionCents),
            c.map { PostgresJSON($0.patient.serialized()) },
            c.map(\.event.source), c.map(\.event.id), c.indices.map { Int32($0) }, now)
        var out = Set<PlanKey>()
        var replaced = Set<PlanKey>()
        for r in rows {
            let key = PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self))
            out.insert(key)
            // xmax is set on a row version written by ON CONFLICT DO UPDATE, not by a plain insert.
            if try r.decode(2, as: Bool.self) { replaced.insert(key) }
        }
        return (out, replaced)
    }

    /// Changes the status of each plan to its target where the plan's current status is an
    /// allowed predecessor of the target (and, when `from` is given, one of `from`).
    /// Returns the plans changed; the others were not in a status they may leave that way.
    public static func transition(
        _ changes: [(key: PlanKey, to: CaseStatus)], from: Set<CaseStatus>? = nil, now: Date, on tx: PostgresConnection
    ) async throws -> [TransitionedPlan] {
        guard !changes.isEmpty else { return [] }
        let rows = try await tx.query(
            transitionStatement
                + " RETURNING plans.organization_id, plans.plan_id, plans.location_id, plans.patient_id, plans.accepted_at, plans.coordinator_id",
            changes.map(\.key.organizationID), changes.map(\.key.planID), changes.map(\.to.rawValue), now,
            allowedPredecessors(changes, from: from))
        return try rows.map { r in
            TransitionedPlan(
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                locationID: try r.decode(2, as: String.self), patientID: try r.decode(3, as: String.self),
                acceptedAt: try r.decode(4, as: Date.self), coordinatorID: try r.decode(5, as: String?.self))
        }
    }

    /// `transition` for a caller that does not need to know which plans changed: queued
    /// (`executeLater`), so it costs no round trip of its own.
    public static func transitionLater(
        _ changes: [(key: PlanKey, to: CaseStatus)], from: Set<CaseStatus>? = nil, now: Date, on tx: PostgresConnection
    ) async throws {
        guard !changes.isEmpty else { return }
        try await tx.executeLater(
            transitionStatement, changes.map(\.key.organizationID), changes.map(\.key.planID), changes.map(\.to.rawValue), now,
            allowedPredecessors(changes, from: from))
    }

    static let transitionStatement = """
        UPDATE plans SET status = u.s, updated_at = $4
        FROM unnest($1::text[], $2::text[], $3::text[], $5::text[]) AS u(o, p, s, f)
        WHERE plans.organization_id = u.o AND plans.plan_id = u.p AND plans.status = ANY(string_to_array(u.f, ','))
        """

    /// Per change, the statuses its plan may leave for the target, comma-separated.
    static func allowedPredecessors(_ changes: [(key: PlanKey, to: CaseStatus)], from: Set<CaseStatus>?) -> [String] {
        var predecessors: [CaseStatus: String] = [:]
        for s in Set(changes.map(\.to)) {
            var allowed = CaseStatus.predecessors(of: s)
            if let from { allowed.formIntersection(from) }
            predecessors[s] = allowed.map(\.rawValue).sorted().joined(separator: ",")
        }
        return changes.map { predecessors[$0.to]! }
    }

    /// `transition` of one plan the caller expects to be legal (the row is locked or was
    /// just checked): throws `CaseTransitionError` when the database did not change it.
    public static func transitionExpected(
        _ key: PlanKey, to status: CaseStatus, from: Set<CaseStatus>? = nil, now: Date, on tx: PostgresConnection
    ) async throws -> TransitionedPlan {
        guard let changed = try await transition([(key, status)], from: from, now: now, on: tx).first else {
            throw CaseTransitionError(from: nil, to: status)
        }
        return changed
    }

    /// The stored plans among `keys`, for modifications.
    public static func stored(_ keys: [PlanKey], on tx: PostgresConnection) async throws -> [StoredPlan] {
        let rows = try await tx.query(
            """
            SELECT organization_id, plan_id, location_id, acceptance_source, patient, provider_id, coordinator_id, total_fee_cents, patient_portion_cents,
                   patient_id
            FROM plans WHERE (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """, keys.map(\.organizationID), keys.map(\.planID))
        return try rows.map { r in
            StoredPlan(
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                locationID: try r.decode(2, as: String.self), acceptanceSource: try r.decode(3, as: String.self),
                patientJSON: try r.decode(4, as: PostgresJSON.self).text, providerID: try r.decode(5, as: String.self),
                coordinatorID: try r.decode(6, as: String?.self), patientID: try r.decode(9, as: String.self))
        }
    }

    /// The newest case of the patient with `phone` in the organization (for a reply that is not a number).
    public static func latestCase(organizationID: String, phone: String, on conn: PostgresConnection) async throws -> PlanKey? {
        try await conn.query(
            """
            SELECT plan_id FROM plans WHERE organization_id = $1 AND patient->>'phone' = $2
            ORDER BY (status IN ('offered', 'escalated', 'accepted', 'booked')) DESC, accepted_at DESC LIMIT 1
            """, organizationID, phone
        ).first.map { PlanKey(organizationID: organizationID, planID: try $0.decode(0, as: String.self)) }
    }

    /// Which of `keys` are stored plans.
    public static func existing(_ keys: [PlanKey], on tx: PostgresConnection) async throws -> Set<PlanKey> {
        let rows = try await tx.query(
            "SELECT organization_id, plan_id FROM plans WHERE (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            keys.map(\.organizationID), keys.map(\.planID))
        var known = Set<PlanKey>()
        for r in rows { known.insert(PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self))) }
        return known
    }

    /// Replaces the procedures of the plans: deletes those of `replacing` (plans stored before), inserts `rows`.
    public static func replaceProcedures(replacing: [PlanKey], _ rows: [ProcedureRow], on tx: PostgresConnection) async throws {
        if !replacing.isEmpty {
            try await tx.executeLater(
                "DELETE FROM plan_procedures pp USING unnest($1::text[], $2::text[]) AS u(o, p) WHERE pp.organization_id = u.o AND pp.plan_id = u.p",
                replacing.map(\.organizationID), replacing.map(\.planID))
        }
        try await tx.executeLater(
            """
            INSERT INTO plan_procedures (organization_id, plan_id, line, code_system, code, description, tooth, fee_cents, minutes, provider_role)
            SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::int4[], $10::text[])
            """,
            rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.line), rows.map(\.codeSystem), rows.map(\.code),
            rows.map(\.description), rows.map(\.tooth), rows.map(\.feeCents), rows.map(\.minutes), rows.map(\.providerRole))
    }

    /// The plan's procedure codes in line order.
    public static func procedureCodes(_ key: PlanKey, on tx: PostgresConnection) async throws -> [String] {
        try await tx.query(
            "SELECT code FROM plan_procedures WHERE organization_id = $1 AND plan_id = $2 ORDER BY line", key.organizationID, key.planID
        ).map { try $0.decode(0, as: String.self) }
    }

    /// Locks the plan's row; returns its acceptance time, nil when there is no such plan.
    public static func lock(_ key: PlanKey, on tx: PostgresConnection) async throws -> Date? {
        try await lockedState(key, on: tx)?.acceptedAt
    }

    /// Locks the plan's row; returns its acceptance time and status (what a staff action's audit records as "before").
    public static func lockedState(_ key: PlanKey, on tx: PostgresConnection) async throws -> (acceptedAt: Date, status: String)? {
        let plan = try await tx.query(
            "SELECT accepted_at, status FROM plans WHERE organization_id = $1 AND plan_id = $2 FOR UPDATE", key.organizationID, key.planID)
        guard let p = plan.first else { return nil }
        return (try p.decode(0, as: Date.self), try p.decode(1, as: String.self))
    }

    /// The open case an appointment books: by plan id, else the patient's most recent open
    /// case at the location whose procedures overlap the appointment's codes.
    public static func openCaseBooked(
        organizationID org: String, planID: String?, locationID: String, patientID: String, procedureCodes codes: [String],
        on tx: PostgresConnection
    ) async throws -> (planID: String, acceptedAt: Date)? {
        let rows = try await tx.query(
            """
            SELECT p.plan_id, p.accepted_at FROM plans p
            WHERE p.organization_id = $1 AND p.status = ANY($6::text[])
              AND (p.plan_id = $2 OR ($2 IS NULL AND p.location_id = $3 AND p.patient_id = $4
                   AND (cardinality($5::text[]) = 0 OR EXISTS (SELECT 1 FROM plan_procedures pp WHERE pp.organization_id = p.organization_id
                                                              AND pp.plan_id = p.plan_id AND pp.code = ANY($5::text[])))))
            ORDER BY (p.plan_id = $2) DESC NULLS LAST, p.accepted_at DESC LIMIT 1
            """, org, planID, locationID, patientID, codes, CaseStatus.open.map(\.rawValue).sorted())
        guard let row = rows.first else { return nil }
        return (try row.decode(0, as: String.self), try row.decode(1, as: Date.self))
    }

    /// The booked case of `planID` whose PlanRouter booking starts at `start` and that no PMS appointment
    /// stands for yet (no write-back written, no PMS booking recorded): a PMS without PlanRouter's write-back
    /// (a connector of events only) names the appointment by the plan and the time the patient booked.
    public static func bookedUnlinked(
        organizationID: String, planID: String, start: Date, on tx: PostgresConnection
    ) async throws -> PlanKey? {
        let rows = try await tx.query(
            """
            SELECT p.plan_id FROM plans p
            WHERE p.organization_id = $1 AND p.plan_id = $2 AND p.status = 'booked'
              AND EXISTS (SELECT 1 FROM reservations r WHERE r.organization_id = p.organization_id AND r.plan_id = p.plan_id
                            AND r.kind = 'booking' AND r.active AND lower(r.operatory_during) = $3)
              AND NOT EXISTS (SELECT 1 FROM pms_writebacks w WHERE w.organization_id = p.organization_id AND w.plan_id = p.plan_id
                                AND w.status = 'written')
              AND NOT EXISTS (SELECT 1 FROM plan_events ev WHERE ev.organization_id = p.organization_id AND ev.plan_id = p.plan_id
                                AND ev.kind = 'booked' AND ev.detail ? 'appointment_id')
            """, organizationID, planID, start)
        return try rows.first.map { PlanKey(organizationID: organizationID, planID: try $0.decode(0, as: String.self)) }
    }

    /// The booked case whose booking was this PMS appointment, if any.
    public static func bookedByAppointment(
        organizationID: String, appointmentID: String, on tx: PostgresConnection
    ) async throws -> PlanKey? {
        let rows = try await tx.query(
            """
            SELECT p.plan_id FROM plans p
            WHERE p.organization_id = $1 AND p.status = 'booked' AND (
                EXISTS (SELECT 1 FROM plan_events ev WHERE ev.organization_id = p.organization_id AND ev.plan_id = p.plan_id
                          AND ev.kind = 'booked' AND ev.detail->>'appointment_id' = $2)
                -- Or booked through PlanRouter (a link, a reply, a paid deposit) and written back as this appointment,
                -- unless a move replaced it with another appointment (NexHealth cancels the old one and makes a new one;
                -- Open Dental's move keeps the AptNum, so its new row names the same appointment).
                OR EXISTS (SELECT 1 FROM pms_writebacks w WHERE w.organization_id = p.organization_id AND w.plan_id = p.plan_id
                             AND w.status = 'written' AND w.pms_appointment_id = $2
                             AND NOT EXISTS (SELECT 1 FROM pms_writebacks m WHERE m.organization_id = w.organization_id
                                               AND m.request->>'replaces_request_id' = w.request_id
                                               AND m.status IN ('submitted', 'written') AND m.pms_appointment_id IS DISTINCT FROM $2)))
            """, organizationID, appointmentID)
        return try rows.first.map { PlanKey(organizationID: organizationID, planID: try $0.decode(0, as: String.self)) }
    }
}
