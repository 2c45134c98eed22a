import Foundation

/// `payments.deposit-requests`: a deposit to request from a patient (from the offer worker).
public struct DepositRequest: EventData {
    public static let eventType = EventType.depositRequests

    /// The payments integration's dedupe key.
    public var requestID: String
    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var patientID: String
    /// At least 1.
    public var amountCents: Int64
    /// ISO 4217, e.g. `USD`.
    public var currency: String
    public var tier: Tier?
    public var reason: String?
    /// Where the patient pays.
    public var link: String?
    public var dueBy: Date?
    /// When the booking is confirmed relative to the payment; absent = after booking.
    public var policy: DepositPolicy?
    /// The provisional booking's held reservation (deposit_to_confirm).
    public var reservationID: Int64?

    public init(
        requestID: String, organizationID: String, locationID: String, planID: String, patientID: String, amountCents: Int64,
        currency: String, tier: Tier? = nil, reason: String? = nil, link: String? = nil, dueBy: Date? = nil, policy: DepositPolicy? = nil,
        reservationID: Int64? = nil
    ) {
        self.requestID = requestID
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.patientID = patientID
        self.amountCents = amountCents
        self.currency = currency
        self.tier = tier
        self.reason = reason
        self.link = link
        self.dueBy = dueBy
        self.policy = policy
        self.reservationID = reservationID
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        requestID = try r.string("request_id")
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        patientID = try r.string("patient_id")
        amountCents = try r.int64("amount_cents")
        currency = try r.string("currency")
        tier = try r.optionalString("tier", as: Tier.self)
        reason = try r.optionalString("reason")
        link = try r.optionalString("link")
        dueBy = try r.optionalDate("due_by")
        policy = try r.optionalString("policy", as: DepositPolicy.self)
        reservationID = try r.optionalInt64("reservation_id")
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("request_id", requestID)
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("patient_id", patientID)
        b.set("amount_cents", amountCents)
        b.set("currency", currency)
        b.set("tier", tier)
        b.set("reason", reason)
        b.set("link", link)
        b.set("due_by", dueBy)
        b.set("policy", policy?.rawValue)
        b.set("reservation_id", reservationID)
        return b.value
    }
}
