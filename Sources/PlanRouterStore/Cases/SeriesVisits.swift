import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Visits offered as a series (`series: true`, docs/rules.md#visits): when a case is booked, the plan's
/// next visit, if it is a waiting series visit, is scheduled to be routed at once with openings from the
/// booking's start + its interval. Shared by the PMS lifecycle (an appointment booking the case) and the
/// booking service (a link, a reply, a paid deposit), the two places a case becomes booked.
public enum SeriesVisits {
    /// Schedules the series visit after the one `booked` is the case of, and records `visit_scheduled`
    /// on the parent plan. Returns it; nil when there is none (or it was scheduled before: routed once).
    @discardableResult
    public static func booked(
        _ booked: PlanKey, start: Date, appointmentID: String?, source: String, eventID: String?, now: Date, on tx: PostgresConnection
    ) async throws -> ScheduledVisit? {
        guard
            let next = try await VisitsRepository.scheduleSeriesNext(
                organizationID: booked.organizationID, bookedPlanID: booked.planID, bookedStart: start, now: now, on: tx)
        else { return nil }
        var detail: JSONObject = [
            "visit_number": .int(Int64(next.number)), "booked_plan_id": .string(booked.planID), "series": .bool(true),
            "booked_start": .string(RFC3339.format(start)), "due_at": .string(RFC3339.format(next.dueAt)),
        ]
        if let appointmentID { detail["appointment_id"] = .string(appointmentID) }
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: booked.organizationID, planID: next.key.planID, locationID: next.locationID, kind: "visit_scheduled",
                    source: source, eventID: eventID, occurredAt: now, detail: .object(detail))
            ], recordedAt: now, on: tx)
        return next
    }
}
