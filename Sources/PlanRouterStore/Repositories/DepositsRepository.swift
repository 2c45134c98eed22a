import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A deposit request as `worker payments` records it.
public struct NewDeposit: Sendable {
    public var request: DepositRequest
    public var dueBy: Date

    public init(request: DepositRequest, dueBy: Date) {
        self.request = request
        self.dueBy = dueBy
    }
}

/// A deposit that needs its Checkout Session, with what the session and the message need.
public struct DepositForSession: Sendable {
    public var key: PlanKey
    public var depositID: String
    public var locationID: String
    public var locationName: String
    public var patientID: String
    /// The plan's `patient` object: contact details (PHI), only handed to the message.
    public var patient: JSONValue
    public var amountCents: Int64
    public var currency: String
    public var policy: DepositPolicy
    public var dueBy: Date
    public var attempts: Int
}

/// A deposit as the webhook, the timers and the pages see it.
public struct DepositRow: Sendable {
    public var key: PlanKey
    public var depositID: String
    public var locationID: String
    public var patientID: String
    public var tier: String?
    public var policy: DepositPolicy
    public var reservationID: Int64?
    public var amountCents: Int64
    public var status: DepositStatus
    public var dueBy: Date
    public var checkoutURL: String?
}

/// `deposits` and `stripe_webhook_events` (migration 0023): deposits requested through Stripe Checkout.
public enum DepositsRepository {
    /// Records a requested deposit; a deposit id already recorded is skipped. Returns whether it was new.
    @discardableResult
    public static func record(_ d: NewDeposit, now: Date, on tx: PostgresConnection) async throws -> Bool {
        let r = d.request
        return try await tx.execute(
            """
            INSERT INTO deposits (organization_id, deposit_id, plan_id, location_id, patient_id, tier, policy, reservation_id, amount_cents,
                                  currency, due_by, next_attempt_at, requested_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
            ON CONFLICT (organization_id, deposit_id) DO NOTHING
            """, r.organizationID, r.requestID, r.planID, r.locationID, r.patientID, r.tier?.rawValue,
            (r.policy ?? .depositAfterBooking).rawValue, r.reservationID, r.amountCents, r.currency, d.dueBy, now) > 0
    }

    /// Claims up to `limit` requested deposits without a session whose next attempt is due, and moves
    /// their next attempt `lease` ahead (so another payments worker leaves them alone meanwhile).
    public static func claimNeedingSession(
        limit: Int, lease: Duration, now: Date, on tx: PostgresConnection
    ) async throws
        -> [DepositForSession]
    {
        let rows = try await tx.query(
            """
            \(PostgresStatement.plannedForValues)WITH due AS (
                SELECT organization_id, deposit_id FROM deposits
                WHERE status = 'requested' AND checkout_session_id IS NULL AND next_attempt_at <= $1 AND due_by > $1
                ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE deposits d SET next_attempt_at = $1 + make_interval(secs => $3), session_attempts = d.session_attempts + 1
            FROM due, plans p, locations l
            WHERE d.organization_id = due.organization_id AND d.deposit_id = due.deposit_id
              AND p.organization_id = d.organization_id AND p.plan_id = d.plan_id
              AND l.organization_id = d.organization_id AND l.id = d.location_id
            RETURNING d.organization_id, d.plan_id, d.deposit_id, d.location_id, l.name, p.patient_id, p.patient::text, d.amount_cents,
                      d.currency, d.policy, d.due_by, d.session_attempts
            """, now, limit, Double(lease.components.seconds))
        return try rows.map { r in
            DepositForSession(
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                depositID: try r.decode(2, as: String.self), locationID: try r.decode(3, as: String.self),
                locationName: try r.decode(4, as: String.self), patientID: try r.decode(5, as: String.self),
                patient: (try? JSONParser.parse(try r.decode(6, as: String.self))) ?? .object([:]),
                amountCents: try r.decode(7, as: Int64.self), currency: try r.decode(8, as: String.self),
                policy: DepositPolicy(rawValue: try r.decode(9, as: String.self)) ?? .depositAfterBooking,
                dueBy: try r.decode(10, as: Date.self), attempts: try r.decode(11, as: Int.self))
        }
    }

    /// Stores the Checkout Session; false when the deposit is no longer waiting for one.
    public static func recordSession(
        _ key: PlanKey, depositID: String, sessionID: String, url: String, on tx: PostgresConnection
    ) async throws -> Bool {
        try await tx.execute(
            """
            UPDATE deposits SET checkout_session_id = $3, checkout_url = $4, last_error = NULL
            WHERE organization_id = $1 AND deposit_id = $2 AND checkout_session_id IS NULL
            """, key.organizationID, depositID, sessionID, url) > 0
    }

    /// A failed session attempt: tried again at `retryAt`.
    public static func sessionFailed(
        _ key: PlanKey, depositID: String, error: String, retryAt: Date, on tx: PostgresConnection
    )
        async throws
    {
        _ = try await tx.execute(
            "UPDATE deposits SET last_error = $3, next_attempt_at = $4 WHERE organization_id = $1 AND deposit_id = $2",
            key.organizationID, depositID, String(error.prefix(200)), retryAt)
    }

    /// The deposit, locked when `lock` (webhook and timer, after the plan row).
    public static func find(
        organizationID: String, depositID: String, lock: Bool, on conn: PostgresConnection
    ) async throws
        -> DepositRow?
    {
        try await conn.query(
            select + " WHERE organization_id = $1 AND deposit_id = $2" + (lock ? " FOR UPDATE" : ""), organizationID, depositID
        ).first.map(row)
    }

    /// The plan's latest deposit, if any.
    public static func latest(_ key: PlanKey, on conn: PostgresConnection) async throws -> DepositRow? {
        try await conn.query(
            select + " WHERE organization_id = $1 AND plan_id = $2 ORDER BY requested_at DESC, deposit_id LIMIT 1",
            key.organizationID, key.planID
        ).first.map(row)
    }

    /// requested → paid/expired/refunded, expired → paid (paid after its hold ran out: the money is
    /// still taken), paid → refunded; false when the deposit was not in a status that allows it.
    public static func setStatus(
        organizationID: String, depositID: String, to status: DepositStatus, now: Date, on tx: PostgresConnection
    ) async throws -> Bool {
        let from: [String] =
            switch status {
            case .refunded: ["requested", "paid"]
            case .paid: ["requested", "expired"]
            case .expired, .requested: ["requested"]
            }
        return try await tx.execute(
            """
            UPDATE deposits SET status = $3, paid_at = CASE WHEN $3 = 'paid' THEN $4 ELSE paid_at END,
                                closed_at = CASE WHEN $3 = 'paid' THEN closed_at ELSE $4 END
            WHERE organization_id = $1 AND deposit_id = $2 AND status = ANY($5::text[])
            """, organizationID, depositID, status.rawValue, now, from) > 0
    }

    /// Records a Stripe event id; false when it was applied before (a redelivery or a replay).
    public static func recordWebhookEvent(
        organizationID: String, eventID: String, type: String, now: Date, on tx: PostgresConnection
    )
        async throws -> Bool
    {
        try await tx.execute(
            """
            INSERT INTO stripe_webhook_events (organization_id, event_id, event_type, received_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT DO NOTHING
            """, organizationID, eventID, String(type.prefix(100)), now) > 0
    }

    /// The unpaid deposit a used link leads to: its provisional booking's (deposit_to_confirm, the hold one of
    /// the offer's openings), or the booked case's (deposit_after_booking).
    public static func pending(offerID: Int64, _ key: PlanKey, on conn: PostgresConnection) async throws -> DepositRow? {
        try await conn.query(
            select + """
                 WHERE organization_id = $1 AND plan_id = $2 AND status = 'requested'
                   AND (policy = 'deposit_after_booking'
                        OR reservation_id IN (SELECT (e->>'reservation_id')::int8 FROM offers o, jsonb_array_elements(o.openings) AS e
                                              WHERE o.id = $3 AND o.organization_id = $1))
                 ORDER BY requested_at DESC LIMIT 1
                """, key.organizationID, key.planID, offerID
        ).first.map(row)
    }

    private static let select = """
        SELECT organization_id, plan_id, deposit_id, location_id, tier, policy, reservation_id, amount_cents, status, due_by, checkout_url,
               patient_id
        FROM deposits
        """

    private static func row(_ r: PostgresRow) throws -> DepositRow {
        DepositRow(
            key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
            depositID: try r.decode(2, as: String.self), locationID: try r.decode(3, as: String.self),
            patientID: try r.decode(11, as: String.self), tier: try r.decode(4, as: String?.self),
            policy: DepositPolicy(rawValue: try r.decode(5, as: String.self)) ?? .depositAfterBooking,
            reservationID: try r.decode(6, as: Int64?.self), amountCents: try r.decode(7, as: Int64.self),
            status: DepositStatus(rawValue: try r.decode(8, as: String.self)) ?? .requested, dueBy: try r.decode(9, as: Date.self),
            checkoutURL: try r.decode(10, as: String?.self))
    }
}
