import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// A classified plan waiting for its offer, joined with what PostgreSQL knows about it.
struct OfferCase {
    /// The plan.classified event that asked for this offer; nil for nudges.
    var incoming: IncomingEvent?
    var organizationID: String
    var planID: String
    var locationID: String
    var patientID: String
    var providerID: String
    var coordinatorID: String?
    var acceptedAt: Date
    var patient: JSONValue
    var procedureCodes: [String]
    var tier: String
    var path: CasePath
    var chairMinutes: Int
    var depositCents: Int64
    var valueCents: Int64
    var slaSeconds: Int
    var providerRole: String?
    var reasons: [String]
    /// A series visit's earliest opening (its previous visit's booked start + the rule's interval), epoch seconds.
    var notBefore: Int64?

    var key: PlanKey { PlanKey(organizationID: organizationID, planID: planID) }
    var location: LocationKey { LocationKey(organizationID: organizationID, locationID: locationID) }
    var firstName: String { patient["first_name"]?.stringValue ?? "there" }

    /// The channel a self-book link goes out on, honouring consent.
    var channel: (name: String, to: String)? { PatientContact.channel(patient) }

    var timesOfDay: Set<TimeOfDay> {
        Set(patient["preferences"]?["times_of_day"]?.arrayValue?.compactMap { $0.stringValue.flatMap(TimeOfDay.init(rawValue:)) } ?? [])
    }

    var weekdays: Set<Int> {
        let names = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
        return Set(patient["preferences"]?["weekdays"]?.arrayValue?.compactMap { $0.stringValue.flatMap { names[$0] } } ?? [])
    }

    /// Crown work may use "crown only" blockouts.
    var allowedBlockoutKinds: Set<String> {
        procedureCodes.contains { CDTRange("D2710-D2799")!.contains(code: $0) } ? ["crown_only"] : []
    }

    /// The slot request of this case (`SlotRequest` explains the order). The classified role is a hard
    /// constraint and the treating provider only preferred among the providers having it; the visit rule's or
    /// tier's `role_fallback` roles are tried only when none of them has an opening. With no role required, the
    /// treating provider only.
    func slotRequest(rules: RoutingRules, tier: RoutingRules.Tier, now: Int64, zone: TimeZone, count: Int) -> SlotRequest {
        SlotRequest(
            providerID: providerRole == nil ? providerID : nil, providerRole: providerRole, preferredProviderID: providerID,
            fallbackRoles: roleFallback(rules, tier).roles, durationMinutes: chairMinutes,
            earliest: bounded(max(SlotSearch.startOfNextBusinessDay(after: now, in: zone), now + OfferPlanner.leadSeconds(rules))),
            latest: now + Int64(rules.offer.horizonDays) * 86_400,
            count: count, spreadOverDays: rules.offer.spreadOverDays, timesOfDay: timesOfDay, weekdays: weekdays,
            allowedBlockoutKinds: allowedBlockoutKinds)
    }

    /// The roles tried when no provider with the required role has an opening: the `role_fallback` of the visit
    /// rule requiring that role (named, for the offer's history), else the tier's; none when no role is required.
    func roleFallback(_ rules: RoutingRules, _ tier: RoutingRules.Tier) -> (roles: [String], rule: String?) {
        guard let providerRole else { return ([], nil) }
        return rules.roleFallback(for: providerRole, codes: procedureCodes, tier: tier)
    }

    /// `earliest`, moved up to the series bound: no opening of a series visit starts before it, on any path.
    func bounded(_ earliest: Int64) -> Int64 { max(earliest, notBefore ?? .min) }

    /// Loads the plans named by plan.classified events; events whose plan moved on are returned as skipped with a reason.
    static func load(
        _ events: [(IncomingEvent, PlanClassified)], in tx: PostgresConnection
    ) async throws -> (cases: [OfferCase], skipped: [(IncomingEvent, PlanClassified, String)]) {
        let byKey = try await OffersRepository.plansToOffer(
            events.map { PlanKey(organizationID: $0.1.organizationID, planID: $0.1.planID) }, on: tx)
        var cases: [OfferCase] = []
        var skipped: [(IncomingEvent, PlanClassified, String)] = []
        var seen = Set<PlanKey>()
        for (e, d) in events {
            let key = PlanKey(organizationID: d.organizationID, planID: d.planID)
            guard let r = byKey[key] else {
                skipped.append((e, d, "plan not found"))
                continue
            }
            let acceptedAt = r.acceptedAt
            if abs(acceptedAt.timeIntervalSince(d.acceptedAt)) > 0.001 {
                skipped.append((e, d, "superseded by a newer acceptance"))
                continue
            }
            let status = r.status
            if status != CaseStatus.accepted.rawValue {
                skipped.append((e, d, "case is \(status)"))
                continue
            }
            if r.alreadyOffered || !seen.insert(key).inserted {
                skipped.append((e, d, "already offered"))
                continue
            }
            cases.append(
                OfferCase(
                    incoming: e, organizationID: r.key.organizationID, planID: r.key.planID,
                    locationID: r.locationID, patientID: r.patientID,
                    providerID: r.providerID, coordinatorID: r.coordinatorID, acceptedAt: acceptedAt,
                    patient: (try? JSONParser.parse(r.patientJSON)) ?? .null,
                    procedureCodes: r.procedureCodes, tier: d.tier.rawValue,
                    path: d.path, chairMinutes: d.chairMinutes,
                    depositCents: d.depositCents, valueCents: d.valueCents,
                    slaSeconds: d.firstOfferSLAMinutes * 60, providerRole: d.providerRole?.rawValue,
                    reasons: d.reasons, notBefore: r.notBefore.map { Int64($0.timeIntervalSince1970) }))
        }
        return (cases, skipped)
    }

    /// Cases still waiting for a booking (status offered), with their current classification: for nudges.
    static func loadOffered(_ keys: [PlanKey], status: CaseStatus = .offered, in tx: PostgresConnection) async throws -> [OfferCase] {
        try await OffersRepository.offeredCases(keys, status: status, on: tx).map { r in
            OfferCase(
                incoming: nil, organizationID: r.key.organizationID, planID: r.key.planID,
                locationID: r.locationID, patientID: r.patientID,
                providerID: r.providerID, coordinatorID: r.coordinatorID,
                acceptedAt: r.acceptedAt,
                patient: (try? JSONParser.parse(r.patientJSON)) ?? .null,
                procedureCodes: r.procedureCodes, tier: r.tier,
                path: CasePath(rawValue: r.path) ?? .callback, chairMinutes: r.chairMinutes,
                depositCents: r.depositCents, valueCents: r.valueCents,
                slaSeconds: r.slaSeconds, providerRole: r.providerRole,
                reasons: r.reasons, notBefore: r.notBefore.map { Int64($0.timeIntervalSince1970) })
        }
    }
}
