import Foundation
import PlanRouterCore
import PlanRouterPostgres

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

    var key: String { organizationID + "\u{1F}" + planID }
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

    /// Loads the plans named by plan.classified events; events whose plan moved on are returned as skipped with a reason.
    static func load(_ events: [IncomingEvent], in tx: PostgresConnection) async throws -> (cases: [OfferCase], skipped: [(IncomingEvent, String)]) {
        let orgs = events.map { $0.event.data["organization_id"]!.stringValue! }
        let plans = events.map { $0.event.data["plan_id"]!.stringValue! }
        let rows = try await tx.query(
            """
            SELECT p.organization_id, p.plan_id, p.location_id, p.patient_id, p.provider_id, p.coordinator_id, p.accepted_at, p.patient,
                   p.status, EXISTS (SELECT 1 FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
                                     AND o.plan_accepted_at = p.accepted_at),
                   ARRAY(SELECT code FROM plan_procedures pp WHERE pp.organization_id = p.organization_id AND pp.plan_id = p.plan_id ORDER BY line)
            FROM plans p JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS u(o, pl) ON p.organization_id = u.o AND p.plan_id = u.pl
            """, orgs, plans)
        var byKey: [String: PostgresRow] = [:]
        for r in rows { byKey[try r.decode(0, as: String.self) + "\u{1F}" + (try r.decode(1, as: String.self))] = r }
        var cases: [OfferCase] = []
        var skipped: [(IncomingEvent, String)] = []
        var seen = Set<String>()
        for e in events {
            let d = e.event.data
            let key = d["organization_id"]!.stringValue! + "\u{1F}" + d["plan_id"]!.stringValue!
            guard let r = byKey[key] else { skipped.append((e, "plan not found")); continue }
            let acceptedAt = try r.decode(6, as: Date.self)
            let eventAccepted = RFC3339.parse(d["accepted_at"]!.stringValue!)!
            if abs(acceptedAt.timeIntervalSince(eventAccepted)) > 0.001 { skipped.append((e, "superseded by a newer acceptance")); continue }
            let status = try r.decode(8, as: String.self)
            if status != "accepted" { skipped.append((e, "case is \(status)")); continue }
            if try r.decode(9, as: Bool.self) || !seen.insert(key).inserted { skipped.append((e, "already offered")); continue }
            cases.append(
                OfferCase(
                    incoming: e, organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self),
                    locationID: try r.decode(2, as: String.self), patientID: try r.decode(3, as: String.self),
                    providerID: try r.decode(4, as: String.self), coordinatorID: try r.decode(5, as: String?.self), acceptedAt: acceptedAt,
                    patient: (try? JSONParser.parse(try r.decode(7, as: PostgresJSON.self).text)) ?? .null,
                    procedureCodes: try r.decode(10, as: [String].self), tier: d["tier"]!.stringValue!,
                    path: CasePath(rawValue: d["path"]!.stringValue!) ?? .callback, chairMinutes: d["chair_minutes"]!.intValue!,
                    depositCents: d["deposit_cents"]!.int64Value!, valueCents: d["value_cents"]!.int64Value!,
                    slaSeconds: d["first_offer_sla_minutes"]!.intValue! * 60, providerRole: d["provider_role"]?.stringValue,
                    reasons: d["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        }
        return (cases, skipped)
    }

    /// Cases still waiting for a booking (status offered), with their current classification: for nudges.
    static func loadOffered(organizations: [String], plans: [String], in tx: PostgresConnection) async throws -> [OfferCase] {
        let rows = try await tx.query(
            """
            SELECT p.organization_id, p.plan_id, p.location_id, p.patient_id, p.provider_id, p.coordinator_id, p.accepted_at, p.patient,
                   c.tier, c.path, c.chair_minutes, c.deposit_cents, c.value_cents, c.first_offer_sla_seconds, c.provider_role, c.reasons,
                   ARRAY(SELECT code FROM plan_procedures pp WHERE pp.organization_id = p.organization_id AND pp.plan_id = p.plan_id ORDER BY line)
            FROM plans p
            JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS u(o, pl) ON p.organization_id = u.o AND p.plan_id = u.pl
            JOIN LATERAL (SELECT * FROM classifications c WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
                          ORDER BY c.id DESC LIMIT 1) c ON true
            WHERE p.status = 'offered'
            """, organizations, plans)
        return try rows.map { r in
            OfferCase(
                incoming: nil, organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self),
                locationID: try r.decode(2, as: String.self), patientID: try r.decode(3, as: String.self),
                providerID: try r.decode(4, as: String.self), coordinatorID: try r.decode(5, as: String?.self),
                acceptedAt: try r.decode(6, as: Date.self),
                patient: (try? JSONParser.parse(try r.decode(7, as: PostgresJSON.self).text)) ?? .null,
                procedureCodes: try r.decode(16, as: [String].self), tier: try r.decode(8, as: String.self),
                path: CasePath(rawValue: try r.decode(9, as: String.self)) ?? .callback, chairMinutes: try r.decode(10, as: Int.self),
                depositCents: try r.decode(11, as: Int64.self), valueCents: try r.decode(12, as: Int64.self),
                slaSeconds: try r.decode(13, as: Int.self), providerRole: try r.decode(14, as: String?.self),
                reasons: try r.decode(15, as: [String].self))
        }
    }
}
