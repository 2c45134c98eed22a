import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension ClassifierHandler {
    /// plan.presented: records each presented plan with the tier it would get if accepted (the
    /// acceptance rate's denominator, by location, provider and tier). Nothing is offered or
    /// escalated for a presentation; the acceptance (plan.accepted) starts the case.
    func recordPresentations(_ presented: [Decoded<PlanPresented>], _ tx: PostgresConnection) async throws {
        guard !presented.isEmpty else { return }
        try await rules.refreshIfNeeded(on: tx)
        try await LocationsRepository.ensure(
            locations: presented.map { LocationKey(organizationID: $0.data.organizationID, locationID: $0.data.locationID) }, on: tx)
        let rows = presented.map { p in
            let (version, r) = rules.rules(for: p.data.organizationID)
            let tier = Classifier.classify(p.data.asAcceptance, rules: r, rulesVersion: version).tier
            return PresentationRow(
                key: PlanKey(organizationID: p.data.organizationID, planID: p.data.planID), locationID: p.data.locationID,
                providerID: p.data.providerID, patientID: p.data.patientID, tier: tier.rawValue, totalFeeCents: p.data.totalFeeCents,
                presentedAt: p.data.presentedAt)
        }
        try await PresentationsRepository.record(rows, on: tx)
    }
}
