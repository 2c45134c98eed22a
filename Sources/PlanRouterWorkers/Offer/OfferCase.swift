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

    var key: PlanKey { PlanKey(organizationID: organizationID, planID: planID) }
    var firstName: String { patient["first_name"]?.stringValue ?? "there" }

    /// The channel a self-book link goes out on, honouring consent.
    var channel: (name: String, to: String)? {
        let phone = patient["phone"]?.stringValue
        let email = patient["email"]?.stringValue
        let sms = phone != nil && patient["sms_consent"]?.boolValue == true
        let mail = email != nil && patient["email_consent"]?.boolValue != false
        let preferred = patient["preferred_channel"]?.stringValue
        if preferred == "email", mail { return ("email", email!) }
        if sms { return ("sms", phone!) }
        if mail { return ("email", email!) }
        return nil
    }

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
    /// constraint and the treating provider only preferred among the providers having it; the tier's
    /// `role_fallback` roles are tried only when none of them has an opening. With no role required, the
    /// treating provider only.
    func slotRequest(rules: RoutingRules, tier: RoutingRules.Tier, now: Int64, zone: TimeZone, count: Int) -> SlotRequest {
        SlotRequest(
            providerID: providerRole == nil ? providerID : nil, providerRole: providerRole, preferredProviderID: providerID,
            fallbackRoles: providerRole == nil ? [] : tier.roleFallback, durationMinutes: chairMinutes,
            earliest: SlotSearch.startOfNextBusinessDay(after: now, in: zone), latest: now + Int64(rules.offer.horizonDays) * 86_400,
            count: count, spreadOverDays: rules.offer.spreadOverDays, timesOfDay: timesOfDay, weekdays: weekdays,
            allowedBlockoutKinds: allowedBlockoutKinds)
    }

    /// Loads the plans named by plan.classified events; events whose plan moved on are returned as skipped with a reason.
    static func load(_ events: [IncomingEvent], in tx: PostgresConnection) async throws -> (cases: [OfferCase], skipped: [(IncomingEvent, String)]) {
        let byKey = try await OffersRepository.plansToOffer(
            events.map { PlanKey(organizationID: $0.event.data["organization_id"]!.stringValue!, planID: $0.event.data["plan_id"]!.stringValue!) },
            on: tx)
        var cases: [OfferCase] = []
        var skipped: [(IncomingEvent, String)] = []
        var seen = Set<PlanKey>()
        for e in events {
            let d = e.event.data
            let key = PlanKey(organizationID: d["organization_id"]!.stringValue!, planID: d["plan_id"]!.stringValue!)
            guard let r = byKey[key] else { skipped.append((e, "plan not found")); continue }
            let acceptedAt = r.acceptedAt
            let eventAccepted = RFC3339.parse(d["accepted_at"]!.stringValue!)!
            if abs(acceptedAt.timeIntervalSince(eventAccepted)) > 0.001 { skipped.append((e, "superseded by a newer acceptance")); continue }
            let status = r.status
            if status != CaseStatus.accepted.rawValue { skipped.append((e, "case is \(status)")); continue }
            if r.alreadyOffered || !seen.insert(key).inserted { skipped.append((e, "already offered")); continue }
            cases.append(
                OfferCase(
                    incoming: e, organizationID: r.key.organizationID, planID: r.key.planID,
                    locationID: r.locationID, patientID: r.patientID,
                    providerID: r.providerID, coordinatorID: r.coordinatorID, acceptedAt: acceptedAt,
                    patient: (try? JSONParser.parse(r.patientJSON)) ?? .null,
                    procedureCodes: r.procedureCodes, tier: d["tier"]!.stringValue!,
                    path: CasePath(rawValue: d["path"]!.stringValue!) ?? .callback, chairMinutes: d["chair_minutes"]!.intValue!,
                    depositCents: d["deposit_cents"]!.int64Value!, valueCents: d["value_cents"]!.int64Value!,
                    slaSeconds: d["first_offer_sla_minutes"]!.intValue! * 60, providerRole: d["provider_role"]?.stringValue,
                    reasons: d["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        return (cases, skipped)
    }

    /// Cases still waiting for a booking (status offered), with their current classification: for nudges.
    static func loadOffered(_ keys: [PlanKey], in tx: PostgresConnection) async throws -> [OfferCase] {
        try await OffersRepository.offeredCases(keys, on: tx).map { r in
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
                reasons: r.reasons)
        }
    }
}
