import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A later visit of a plan, to store when the plan is classified.
public struct PlannedVisitRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var number: Int32
    public var count: Int32
    public var kind: VisitKind
    public var afterSeconds: Int32
    public var procedures: JSONValue
    public var followUpPlanID: String
    /// Routed when the previous visit is booked (`series: true`), not when it is completed.
    public var series: Bool

    public init(
        key: PlanKey, locationID: String, number: Int32, count: Int32, kind: VisitKind, afterSeconds: Int32, procedures: JSONValue,
        followUpPlanID: String, series: Bool = false
    ) {
        self.key = key
        self.locationID = locationID
        self.number = number
        self.count = count
        self.kind = kind
        self.afterSeconds = afterSeconds
        self.procedures = procedures
        self.followUpPlanID = followUpPlanID
        self.series = series
    }
}

/// A visit whose previous visit was completed: its timer is due at `dueAt`.
public struct ScheduledVisit: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var number: Int
    public var dueAt: Date
}

/// A due visit taken for routing, with the parent plan's stored acceptance.
public struct RoutedVisit: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var number: Int
    public var count: Int
    public var kind: String
    public var proceduresJSON: String
    public var followUpPlanID: String
    public var acceptanceSource: String
    public var patientJSON: String
    public var providerID: String
    public var coordinatorID: String?
    /// A series visit's earliest opening (the previous visit's booked start + its interval).
    public var notBefore: Date?
}

/// `plan_visits`: the later visits of plans the rules split (docs/rules.md#visits).
public enum VisitsRepository {
    /// The timer kind that routes a due visit (`timers.step` is the visit number, the plan the parent).
    public static let timerKind = "visit_due"

    /// Deletes the waiting visits of `plans` (plans accepted again: a re-acceptance re-splits the
    /// plan) and stores `rows`. Visits already scheduled or routed stay: their previous visit happened.
    public static func replaceWaiting(plans: [PlanKey], _ rows: [PlannedVisitRow], now: Date, on tx: PostgresConnection) async throws {
        if !plans.isEmpty {
            try await tx.executeLater(
                """
                DELETE FROM plan_visits WHERE status = 'waiting'
                  AND (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                """, plans.map(\.organizationID), plans.map(\.planID))
        }
        guard !rows.isEmpty else { return }
        try await tx.executeLater(
            """
            INSERT INTO plan_visits (organization_id, plan_id, visit_number, visit_count, location_id, kind, after_seconds, procedures,
                                     follow_up_plan_id, series, created_at)
            SELECT o, p, n, c, l, k, a, pr, f, s, $11
            FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::text[], $6::text[], $7::int4[], $8::jsonb[], $9::text[],
                        $10::bool[])
                AS u(o, p, n, c, l, k, a, pr, f, s)
            ON CONFLICT DO NOTHING
            """, rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.number), rows.map(\.count), rows.map(\.locationID),
            rows.map(\.kind.rawValue), rows.map(\.afterSeconds), rows.map { PostgresJSON($0.procedures.serialized()) },
            rows.map(\.followUpPlanID), rows.map(\.series), now)
    }

    /// The visit after the one `completedPlanID` is the case of (a parent plan's visit 1 or a follow-up
    /// case), when it is still waiting: it becomes scheduled, due `after_seconds` after `completedAt`,
    /// with its `visit_due` timer. Nil when there is none (a one-visit plan, the last visit, or the
    /// completion was already seen, or the visit is a series visit its previous visit's booking routed).
    public static func scheduleNext(
        organizationID: String, completedPlanID: String, completedAt: Date, now: Date, on tx: PostgresConnection
    ) async throws -> ScheduledVisit? {
        try await scheduleNext(
            organizationID: organizationID, previousPlanID: completedPlanID, byBooking: false, at: completedAt, now: now, on: tx)
    }

    /// The series visit (`series: true`) after the one `bookedPlanID` is the case of, when it is still
    /// waiting: it becomes scheduled, due now, with openings from `bookedStart` + `after_seconds`
    /// (`not_before`). Nil when there is none or it left `waiting` before (a booking cancelled and made
    /// again, a moved appointment): each visit is routed once.
    public static func scheduleSeriesNext(
        organizationID: String, bookedPlanID: String, bookedStart: Date, now: Date, on tx: PostgresConnection
    ) async throws -> ScheduledVisit? {
        try await scheduleNext(
            organizationID: organizationID, previousPlanID: bookedPlanID, byBooking: true, at: bookedStart, now: now, on: tx)
    }

    /// Moves the waiting visit after `previousPlanID`'s to scheduled and starts its `visit_due` timer:
    /// `byBooking` (only a series visit) due now with openings from `at` + its interval, else due `at` +
    /// its interval (the previous visit's completed start).
    private static func scheduleNext(
        organizationID: String, previousPlanID: String, byBooking: Bool, at: Date, now: Date, on tx: PostgresConnection
    ) async throws -> ScheduledVisit? {
        let rows = try await tx.query(
            """
            UPDATE plan_visits v
            SET status = 'scheduled',
                previous_completed_at = CASE WHEN $4 THEN NULL ELSE $3 END,
                previous_booked_at = CASE WHEN $4 THEN $3 END,
                not_before = CASE WHEN $4 THEN $3 + make_interval(secs => v.after_seconds) END,
                due_at = CASE WHEN $4 THEN $5 ELSE $3 + make_interval(secs => v.after_seconds) END
            WHERE v.organization_id = $1 AND v.status = 'waiting' AND (v.series OR NOT $4) AND (
                (v.plan_id = $2 AND v.visit_number = 2)
                OR (v.plan_id, v.visit_number) IN (
                    SELECT p.plan_id, p.visit_number + 1 FROM plan_visits p
                    WHERE p.organization_id = $1 AND p.follow_up_plan_id = $2))
            RETURNING v.plan_id, v.location_id, v.visit_number, v.due_at
            """, organizationID, previousPlanID, at, byBooking, now)
        guard let r = rows.first else { return nil }
        let visit = ScheduledVisit(
            key: PlanKey(organizationID: organizationID, planID: try r.decode(0, as: String.self)),
            locationID: try r.decode(1, as: String.self),
            number: try r.decode(2, as: Int.self), dueAt: try r.decode(3, as: Date.self))
        try await TimersRepository.schedule(
            kind: timerKind, key: visit.key, locationID: visit.locationID, dueAt: visit.dueAt, step: Int32(visit.number), now: now, on: tx)
        return visit
    }

    /// Takes the scheduled visits of fired timers for routing (`routed` from now on), each with its
    /// parent's stored acceptance; a visit already routed is not returned again.
    public static func takeDue(_ visits: [(key: PlanKey, number: Int)], now: Date, on tx: PostgresConnection) async throws -> [RoutedVisit]
    {
        guard !visits.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            UPDATE plan_visits v SET status = 'routed', routed_at = $4
            FROM plans p
            WHERE p.organization_id = v.organization_id AND p.plan_id = v.plan_id AND v.status = 'scheduled'
              AND (v.organization_id, v.plan_id, v.visit_number) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::int4[]))
            RETURNING v.organization_id, v.plan_id, v.location_id, v.visit_number, v.visit_count, v.kind, v.procedures, v.follow_up_plan_id,
                      p.acceptance_source, p.patient, p.provider_id, p.coordinator_id, v.not_before
            """, visits.map(\.key.organizationID), visits.map(\.key.planID), visits.map { Int32($0.number) }, now)
        return try rows.map { r in
            RoutedVisit(
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                locationID: try r.decode(2, as: String.self), number: try r.decode(3, as: Int.self), count: try r.decode(4, as: Int.self),
                kind: try r.decode(5, as: String.self), proceduresJSON: try r.decode(6, as: PostgresJSON.self).text,
                followUpPlanID: try r.decode(7, as: String.self), acceptanceSource: try r.decode(8, as: String.self),
                patientJSON: try r.decode(9, as: PostgresJSON.self).text, providerID: try r.decode(10, as: String.self),
                coordinatorID: try r.decode(11, as: String?.self), notBefore: try r.decode(12, as: Date?.self))
        }
    }

    /// The open follow-up case of `parentPlanID` (its latest routed visit): a PMS knows only its own plan, so the
    /// appointment booking visit 2 names the parent plan, whose own case was closed when visit 1 was booked.
    public static func openFollowUp(organizationID: String, parentPlanID: String, on tx: PostgresConnection) async throws -> String? {
        try await tx.query(
            """
            SELECT v.follow_up_plan_id FROM plan_visits v
            JOIN plans p ON p.organization_id = v.organization_id AND p.plan_id = v.follow_up_plan_id
            WHERE v.organization_id = $1 AND v.plan_id = $2 AND v.status = 'routed' AND p.status = ANY($3::text[])
            ORDER BY v.visit_number DESC LIMIT 1
            """, organizationID, parentPlanID, CaseStatus.open.map(\.rawValue).sorted()
        ).first.map { try $0.decode(0, as: String.self) }
    }
}
