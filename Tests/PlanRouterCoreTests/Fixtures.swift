import Foundation
import PlanRouterCore

/// Realistic plan.accepted data objects for the examples of docs/events.md.
enum Fixtures {
    static func procedure(_ code: String, _ fee: Int64, minutes: Int? = nil, system: String? = nil) -> JSONValue {
        var o: JSONObject = ["code": .string(code), "description": .string("procedure \(code)"), "fee_cents": .int(fee)]
        if let minutes { o["minutes"] = .int(Int64(minutes)) }
        if let system { o["code_system"] = .string(system) }
        return .object(o)
    }

    static func planAccepted(
        plan: String = "plan-1001", location: String = "loc-12", procedures: [JSONValue], total: Int64? = nil,
        portion: Int64? = nil, channel: String = "sms", smsConsent: Bool = true, inOffice: Bool = false,
        acceptedAt: String = "2026-11-30T10:15:00-05:00"
    ) -> JSONValue {
        let sum = procedures.compactMap { $0["fee_cents"]?.int64Value }.reduce(0, +)
        var patient: JSONObject = [
            "id": "pat-77", "first_name": "Maria", "phone": "+15555550123", "email": "maria@example.com",
            "preferred_channel": .string(channel), "sms_consent": .bool(smsConsent),
        ]
        if inOffice { patient["still_in_office"] = true }
        var o: JSONObject = [
            "organization_id": "org-1", "location_id": .string(location), "plan_id": .string(plan),
            "accepted_at": .string(acceptedAt), "acceptance_source": "chair", "patient": .object(patient),
            "provider_id": "prov-3", "procedures": .array(procedures), "total_fee_cents": .int(total ?? sum),
        ]
        if let portion { o["patient_portion_cents"] = .int(portion) }
        return .object(o)
    }

    static func envelope(_ data: JSONValue, type: String = "planrouter.plan.accepted.v1", id: String = "evt-1") -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(id), "source": "opendental/loc-12", "type": .string(type),
            "time": "2026-11-30T10:15:02-05:00", "subject": "plan-1001", "data": data,
        ])
    }

    static let implant = planAccepted(procedures: [procedure("D6010", 240_000), procedure("D6065", 180_000)])
    static let crown = planAccepted(procedures: [procedure("D2740", 135_000)])
    static let botox = planAccepted(procedures: [procedure("BOTOX-20U", 42_000, minutes: 30, system: "service")])
    static let sealant = planAccepted(procedures: [procedure("D1351", 6_500)])
}
