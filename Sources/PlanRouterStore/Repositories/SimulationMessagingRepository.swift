import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// What the simulator (`planrouter simulate`) reads about patient messaging and deposits: whether the
/// notify and payments workers are done with the current moment, when their next piece of work is due,
/// and the month's messaging figures. Read-only; the simulator connects with `TenantScope.allOrganizations`.
public enum SimulationMessagingRepository {
    /// Work the notify and payments workers still owe at `now`: patient messages and deposit requests in
    /// the outbox that their consumers have not recorded yet, deliveries due or in flight, deposits due a
    /// Checkout Session. Zero: both are quiet.
    public static func backlog(
        messagesTopic: String, notifyConsumer: String, depositsTopic: String, paymentsConsumer: String, now: Date,
        on conn: PostgresConnection
    ) async throws -> Int {
        let row = try await conn.query(
            """
            SELECT greatest(0, (SELECT count(*) FROM outbox WHERE topic = $1) - (SELECT count(*) FROM inbox WHERE consumer = $2))
                 + greatest(0, (SELECT count(*) FROM outbox WHERE topic = $3) - (SELECT count(*) FROM inbox WHERE consumer = $4))
                 + (SELECT count(*) FROM message_deliveries WHERE status = 'sending' OR (status = 'queued' AND next_attempt_at <= $5))
                 + (SELECT count(*) FROM deposits
                    WHERE status = 'requested' AND checkout_session_id IS NULL AND next_attempt_at <= $5 AND due_by > $5)
            """, messagesTopic, notifyConsumer, depositsTopic, paymentsConsumer, now)[0]
        return try row.decode(0, as: Int.self)
    }

    /// The next instant after `now` at which a delivery (quiet hours' `send_after`, a retry) or a deposit's
    /// session call falls due; nil when none is waiting.
    public static func nextDue(after now: Date, on conn: PostgresConnection) async throws -> Date? {
        try await conn.query(
            """
            SELECT least((SELECT min(next_attempt_at) FROM message_deliveries WHERE status = 'queued' AND next_attempt_at > $1),
                         (SELECT min(next_attempt_at) FROM deposits
                          WHERE status = 'requested' AND checkout_session_id IS NULL AND next_attempt_at > $1 AND due_by > next_attempt_at))
            """, now)[0].decode(0, as: Date?.self)
    }

    /// Deliveries of the organization by channel and status (`message_deliveries`).
    public static func deliveries(organizationID: String, on conn: PostgresConnection) async throws -> [MessagingFigures.Channel] {
        try await conn.query(
            """
            SELECT channel,
                   count(*) FILTER (WHERE status IN ('sent', 'delivered', 'undelivered')),
                   count(*) FILTER (WHERE status = 'delivered'),
                   count(*) FILTER (WHERE status IN ('failed', 'undelivered')),
                   count(*) FILTER (WHERE status = 'opted_out'),
                   count(*) FILTER (WHERE status = 'cancelled')
            FROM message_deliveries WHERE organization_id = $1 GROUP BY channel ORDER BY channel
            """, organizationID
        ).map { r in
            MessagingFigures.Channel(
                channel: try r.decode(0, as: String.self), sent: try r.decode(1, as: Int.self), delivered: try r.decode(2, as: Int.self),
                failed: try r.decode(3, as: Int.self), suppressed: try r.decode(4, as: Int.self), cancelled: try r.decode(5, as: Int.self))
        }
    }

    /// Numbers opted out of the organization's texts (STOP and its synonyms; `sms_suppressions`).
    public static func optOuts(organizationID: String, on conn: PostgresConnection) async throws -> Int {
        try await conn.query("SELECT count(*) FROM sms_suppressions WHERE organization_id = $1", organizationID)[0].decode(0, as: Int.self)
    }

    /// Deposits requested and paid per tier, and provisional bookings (deposit_to_confirm) whose hold was
    /// released because the deposit was not paid in time (`deposit_expired` plan events).
    public static func deposits(
        organizationID: String, on conn: PostgresConnection
    ) async throws -> (
        tiers: [MessagingFigures.DepositTier], provisionalLost: Int
    ) {
        let tiers = try await conn.query(
            """
            SELECT coalesce(tier, 'unclassified'), count(*), count(*) FILTER (WHERE status IN ('paid', 'refunded')),
                   count(*) FILTER (WHERE policy = 'deposit_to_confirm')
            FROM deposits WHERE organization_id = $1 GROUP BY 1 ORDER BY 1
            """, organizationID
        ).map { r in
            MessagingFigures.DepositTier(
                tier: try r.decode(0, as: String.self), requested: try r.decode(1, as: Int.self), paid: try r.decode(2, as: Int.self),
                toConfirm: try r.decode(3, as: Int.self))
        }
        let lost = try await conn.query(
            """
            SELECT count(*) FROM plan_events
            WHERE organization_id = $1 AND kind = 'deposit_expired' AND (detail->>'hold_released')::boolean
            """, organizationID)[0].decode(0, as: Int.self)
        return (tiers, lost)
    }
}

/// The month's patient messaging and deposits, as the pipeline recorded them.
public struct MessagingFigures: Sendable, Hashable {
    public struct Channel: Sendable, Hashable {
        public var channel: String
        /// Accepted by the provider (sent, delivered, or later reported undelivered).
        public var sent: Int
        public var delivered: Int
        /// Refused by the provider for good, or reported undelivered.
        public var failed: Int
        /// Not sent because the number had opted out.
        public var suppressed: Int
        /// Not sent because the case was booked, declined or withdrawn in the meantime.
        public var cancelled: Int
    }

    public struct DepositTier: Sendable, Hashable {
        public var tier: String
        public var requested: Int
        public var paid: Int
        /// Of the requested, those that held a provisional booking (deposit_to_confirm).
        public var toConfirm: Int
    }

    public var channels: [Channel] = []
    public var optOuts = 0
    public var deposits: [DepositTier] = []
    public var provisionalLost = 0

    public init() {}

    public static func load(organizationID: String, on conn: PostgresConnection) async throws -> MessagingFigures {
        var f = MessagingFigures()
        f.channels = try await SimulationMessagingRepository.deliveries(organizationID: organizationID, on: conn)
        f.optOuts = try await SimulationMessagingRepository.optOuts(organizationID: organizationID, on: conn)
        (f.deposits, f.provisionalLost) = try await SimulationMessagingRepository.deposits(organizationID: organizationID, on: conn)
        return f
    }
}
