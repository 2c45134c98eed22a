import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Routes due visits (fired `visit_due` timers): each becomes a follow-up case published as a
/// `plan.accepted` with `visit`, through the outbox in the timer's transaction, so the classifier,
/// offer worker, ladder and tasks treat it like any acceptance. Its event id is derived from the
/// parent plan and the visit number: routed twice, it is one case.
enum VisitRouting {
    static func route(
        _ timers: [DueTimer], topics: TopicNames, in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws {
        guard !timers.isEmpty else { return }
        let due = try await VisitsRepository.takeDue(timers.map { ($0.key, $0.step) }, now: now, on: tx)
        var history: [PlanEventRow] = []
        for v in due {
            let plan: PlanAccepted
            do {
                plan = try followUp(v, now: now)
            } catch {
                // The stored plan came through the schema once; this only guards against a changed schema.
                logger.error(
                    "a due visit could not be routed", metadata: ["plan.id": "\(v.key.planID)", "error.reason": "\(error.reason)"])
                continue
            }
            outbox.append(
                CloudEvent(
                    id: FollowUpVisit.eventID(organizationID: v.key.organizationID, parent: v.key.planID, number: v.number),
                    source: FollowUpVisit.source, time: now, subject: plan.planID, data: plan),
                topic: topics[.planAccepted])
            var detail: JSONObject = [
                "visit_number": .int(Int64(v.number)), "visit_count": .int(Int64(v.count)), "visit_kind": .string(v.kind),
                "follow_up_plan_id": .string(plan.planID),
            ]
            if let notBefore = v.notBefore { detail["not_before"] = .string(RFC3339.format(notBefore)) }
            history.append(
                PlanEventRow(
                    organizationID: v.key.organizationID, planID: v.key.planID, locationID: v.locationID, kind: "visit_routed",
                    occurredAt: now, detail: .object(detail)))
        }
        try await PlanEventsRepository.append(history, recordedAt: now, on: tx)
    }

    /// The follow-up's acceptance: the parent's patient (not in the office now), treating provider,
    /// coordinator and acceptance source, the visit's procedures, accepted now.
    static func followUp(_ v: RoutedVisit, now: Date) throws(EventRejection) -> PlanAccepted {
        guard let procedures = try? JSONParser.parse(v.proceduresJSON) else {
            throw EventRejection(.invalidData, "/data/procedures: the stored visit's procedures are not JSON")
        }
        let list = try PlanAccepted.procedures(procedures)
        var patient = try ClassifierHandler.storedPatient(v.patientJSON)
        patient.inOffice = nil
        guard let kind = VisitKind(rawValue: v.kind) else { throw EventRejection(.invalidData, "/data/visit/kind: not staged or recall") }
        return PlanAccepted(
            organizationID: v.key.organizationID, locationID: v.locationID,
            planID: v.followUpPlanID, acceptedAt: now, acceptedVia: try ClassifierHandler.storedAcceptanceSource(v.acceptanceSource),
            patient: patient, providerID: v.providerID, coordinatorID: v.coordinatorID, procedures: list,
            totalFeeCents: list.map(\.feeCents).reduce(0, +),
            visit: FollowUpVisit(parentPlanID: v.key.planID, number: v.number, of: v.count, kind: kind, notBefore: v.notBefore))
    }
}
