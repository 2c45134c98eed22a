import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension ClassifierHandler {
    /// `visit` is PlanRouter's own mark of a follow-up case: from any other source it would waive a
    /// plan's deposit, so such an acceptance is dead-lettered instead.
    static func refuseForeignVisits(_ accepted: [Accepted], letters: inout [DeadLetter]) -> [Accepted] {
        accepted.filter { a in
            guard a.plan.visit != nil, a.incoming.event.source != FollowUpVisit.source else { return true }
            letters.append(
                DeadLetter(
                    message: a.incoming.message, kind: EventRejection.Kind.invalidData.rawValue,
                    reason: "/data/visit: set only by PlanRouter (source \(FollowUpVisit.source)), not by \(a.incoming.event.source)"))
            return false
        }
    }

    /// The follow-up's place in its plan, on its `accepted` history row (analytics tell staged and recall cases apart).
    static func visitDetail(_ v: FollowUpVisit) -> JSONObject {
        [
            "parent_plan_id": .string(v.parentPlanID), "visit_number": .int(Int64(v.number)), "visit_count": .int(Int64(v.of)),
            "visit_kind": .string(v.kind.rawValue),
        ]
    }

    /// Stores the later visits of every classified plan that is not itself a follow-up (visit 1 is the
    /// plan's own case); a plan classified again with fewer visits loses its waiting ones.
    ///
    /// `replacing`: the plans an acceptance of this batch replaced. Only they can have waiting
    /// visits to delete; a plan stored for the first time has none, and at a paced load, where
    /// most batches hold only new plans, the `DELETE` was a statement planned and run for nothing
    /// in nearly every batch.
    func storeLaterVisits(_ cs: [(Accepted, Classification)], replacing: Set<PlanKey>, _ tx: PostgresConnection, now: Date) async throws {
        let parents = cs.filter { $0.0.plan.visit == nil }
        var rows: [PlannedVisitRow] = []
        for (a, c) in parents where c.visits.count > 1 {
            for v in c.visits.dropFirst() {
                rows.append(
                    PlannedVisitRow(
                        key: a.key, locationID: a.plan.locationID, number: Int32(v.number), count: Int32(c.visits.count), kind: v.kind,
                        afterSeconds: Int32(v.afterSeconds), procedures: .array(v.procedureIndices.map { a.plan.procedures[$0].json }),
                        followUpPlanID: FollowUpVisit.followUpPlanID(parent: a.plan.planID, number: v.number), series: v.series))
            }
        }
        try await VisitsRepository.replaceWaiting(plans: parents.map(\.0.key).filter(replacing.contains), rows, now: now, on: tx)
    }
}
