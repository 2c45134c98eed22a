import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A message to deliver, as the notify worker records it from a `patient.messages` event.
public struct NewDelivery: Sendable {
    public var message: PatientMessage
    public var eventSource: String
    public var eventID: String

    public init(message: PatientMessage, eventSource: String, eventID: String) {
        self.message = message
        self.eventSource = eventSource
        self.eventID = eventID
    }
}

/// A delivery a sender claimed, with what the claim found out about its case and number.
public struct ClaimedDelivery: Sendable {
    public var id: Int64
    public var key: PlanKey
    public var messageID: String
    public var locationID: String
    public var patientID: String
    public var kind: String
    public var channel: MessageChannel
    /// PHI: only ever handed to the provider.
    public var recipient: String
    public var subject: String?
    public var body: String
    /// Attempts before this one: more than zero means an earlier provider call may have gone through.
    public var attemptsBefore: Int
    /// When the row last changed before this claim (an earlier attempt's start, for the lookup).
    public var previousUpdate: Date
    public var caseStatus: CaseStatus?
    /// The number texted STOP to this organization.
    public var suppressed: Bool
    /// No text from this organization has reached this number yet: the opt-out line goes with it.
    public var firstToRecipient: Bool
    /// The patient's email, for the fallback when the number opted out (PHI).
    public var patientEmail: String?
    /// A confirmation's iCalendar file (email attaches it).
    public var calendar: String? = nil
}

/// `message_deliveries`: one row per (organization, message id); the notify worker's
/// record of every attempt and of the provider's progress.
public enum MessageDeliveriesRepository {
    /// Records new deliveries (`queued`); a message id already recorded is skipped. Returns how many were new.
    @discardableResult
    public static func record(_ rows: [NewDelivery], now: Date, on tx: PostgresConnection) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        let ms = rows.map(\.message)
        return try await tx.execute(
            """
            INSERT INTO message_deliveries (organization_id, message_id, event_source, event_id, plan_id, location_id, patient_id, kind,
                                            channel, recipient, subject, body, send_after, next_attempt_at, created_at, updated_at, offer_id,
                                            calendar)
            SELECT o, m, es, ei, p, l, pa, k, c, r, s, b, coalesce(sa, $14), coalesce(sa, $14), $14, $14, oi, cal
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                        $10::text[], $11::text[], $12::text[], $13::timestamptz[], $15::int8[], $16::text[])
                     AS u(o, m, es, ei, p, l, pa, k, c, r, s, b, sa, oi, cal)
            ON CONFLICT (organization_id, message_id) DO NOTHING
            """,
            ms.map(\.organizationID), ms.map(\.messageID), rows.map(\.eventSource), rows.map(\.eventID), ms.map(\.planID),
            ms.map(\.locationID), ms.map(\.patientID), ms.map(\.kind.rawValue), ms.map(\.channel.rawValue), ms.map(\.to),
            ms.map(\.subject), ms.map(\.body), ms.map(\.sendAfter), now, ms.map(\.offerID), ms.map(\.calendar))
    }

    /// Claims up to `limit` due deliveries for `worker` until `leaseUntil` (`FOR UPDATE SKIP
    /// LOCKED`): queued rows whose time has come, and rows left `sending` past their lease by
    /// a sender that died. Each comes back with its case's status, the number's suppression
    /// and whether it is the first text to the number, read in the claiming transaction.
    public static func claim(
        worker: String, limit: Int, leaseUntil: Date, now: Date, on tx: PostgresConnection
    ) async throws -> [ClaimedDelivery] {
        let rows = try await tx.query(
            """
            \(PostgresStatement.plannedForValues)WITH due AS (
                SELECT id, updated_at AS previous_update FROM message_deliveries
                WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1 AND (status = 'queued' OR leased_until < $1)
                ORDER BY next_attempt_at, id
                LIMIT $2
                FOR UPDATE SKIP LOCKED)
            UPDATE message_deliveries d
            SET status = 'sending', leased_by = $3, leased_until = $4, attempts = d.attempts + 1, updated_at = $1
            FROM due, plans p
            WHERE d.id = due.id AND p.organization_id = d.organization_id AND p.plan_id = d.plan_id
            RETURNING d.id, d.organization_id, d.plan_id, d.message_id, d.location_id, d.kind, d.channel, d.recipient, d.subject, d.body,
                      d.attempts - 1, due.previous_update, p.status, p.patient->>'email',
                      d.channel = 'sms' AND EXISTS (SELECT 1 FROM sms_suppressions s
                                                    WHERE s.organization_id = d.organization_id AND s.phone = d.recipient),
                      NOT EXISTS (SELECT 1 FROM message_deliveries x
                                  WHERE x.organization_id = d.organization_id AND x.channel = d.channel AND x.recipient = d.recipient
                                    AND x.id <> d.id AND x.status IN ('sent', 'delivered', 'undelivered')),
                      d.patient_id, d.calendar
            """, now, limit, worker, leaseUntil)
        return try rows.compactMap { r in
            guard let channel = MessageChannel(rawValue: try r.decode(6, as: String.self)) else { return nil }
            return ClaimedDelivery(
                id: try r.decode(0, as: Int64.self),
                key: PlanKey(organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self)),
                messageID: try r.decode(3, as: String.self), locationID: try r.decode(4, as: String.self),
                patientID: try r.decode(16, as: String.self), kind: try r.decode(5, as: String.self),
                channel: channel, recipient: try r.decode(7, as: String.self), subject: try r.decode(8, as: String?.self),
                body: try r.decode(9, as: String.self), attemptsBefore: try r.decode(10, as: Int.self),
                previousUpdate: try r.decode(11, as: Date.self), caseStatus: CaseStatus(rawValue: try r.decode(12, as: String.self)),
                suppressed: try r.decode(14, as: Bool.self), firstToRecipient: try r.decode(15, as: Bool.self),
                patientEmail: try r.decode(13, as: String?.self), calendar: try r.decode(17, as: String?.self))
        }
    }

    /// Ends `worker`'s claim with a final or provider status (`sent`, `failed`, `opted_out`,
    /// `cancelled`); a status callback that already moved the row on (`delivered`) is kept.
    /// Returns false when the claim was no longer this worker's.
    @discardableResult
    public static func settle(
        id: Int64, worker: String, status: DeliveryStatus, providerID: String? = nil, error: String? = nil, now: Date,
        on conn: PostgresConnection
    ) async throws -> Bool {
        try await conn.execute(
            """
            UPDATE message_deliveries
            SET status = CASE WHEN status = 'sending' THEN $3 ELSE status END, provider_id = coalesce(provider_id, $4), last_error = $5,
                sent_at = CASE WHEN $3 = 'sent' THEN coalesce(sent_at, $6) ELSE sent_at END,
                leased_by = NULL, leased_until = NULL, updated_at = $6
            WHERE id = $1 AND leased_by = $2
            """, id, worker, status.rawValue, providerID, error, now) == 1
    }

    /// `settle(…status: .sent…)` for many deliveries in one statement (a sender's outcomes
    /// recorded together): each row still only while it is `worker`'s claim, a status callback's
    /// later status kept. Returns the ids it settled; the others were taken over after the lease.
    public static func settleSent(
        _ items: [(id: Int64, providerID: String)], worker: String, now: Date, on tx: PostgresConnection
    ) async throws -> Set<Int64> {
        guard !items.isEmpty else { return [] }
        let rows = try await tx.query(
            """
            UPDATE message_deliveries d
            SET status = CASE WHEN d.status = 'sending' THEN 'sent' ELSE d.status END, provider_id = coalesce(d.provider_id, u.provider_id),
                last_error = NULL, sent_at = coalesce(d.sent_at, $3), leased_by = NULL, leased_until = NULL, updated_at = $3
            FROM unnest($1::int8[], $2::text[]) AS u(id, provider_id)
            WHERE d.id = u.id AND d.leased_by = $4
            RETURNING d.id
            """, items.map(\.id), items.map(\.providerID), now, worker)
        return Set(try rows.map { try $0.decode(0, as: Int64.self) })
    }

    /// Gives a claimed delivery back for another attempt at `nextAttemptAt` (a transient failure).
    @discardableResult
    public static func retryLater(
        id: Int64, worker: String, nextAttemptAt: Date, error: String, now: Date, on conn: PostgresConnection
    ) async throws -> Bool {
        try await conn.execute(
            """
            UPDATE message_deliveries
            SET status = 'queued', next_attempt_at = $3, last_error = $4, leased_by = NULL, leased_until = NULL, updated_at = $5
            WHERE id = $1 AND leased_by = $2 AND status = 'sending'
            """, id, worker, nextAttemptAt, error, now) == 1
    }

    /// A provider's status callback: moves the delivery forward only (a late `sent` after
    /// `delivered` changes nothing), so a repeated or reordered callback is harmless.
    /// Returns whether the row changed.
    @discardableResult
    public static func applyProviderStatus(
        id: Int64, providerID: String, status: DeliveryStatus, error: String?, now: Date, on conn: PostgresConnection
    ) async throws -> Bool {
        try await conn.execute(
            """
            UPDATE message_deliveries
            SET status = $3, provider_id = coalesce(provider_id, $2), last_error = coalesce($4, last_error),
                sent_at = coalesce(sent_at, $5), delivered_at = CASE WHEN $3 = 'delivered' THEN $5 ELSE delivered_at END, updated_at = $5
            WHERE id = $1 AND channel = 'sms' AND (provider_id IS NULL OR provider_id = $2)
              AND (CASE status WHEN 'queued' THEN 0 WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END) < $6
            """, id, providerID, status.rawValue, error, now, status.progress) == 1
    }

    /// Count of deliveries by status (metrics, `/readyz` and tests).
    public static func countsByStatus(on conn: PostgresConnection) async throws -> [String: Int] {
        var out: [String: Int] = [:]
        for r in try await conn.query("SELECT status, count(*)::int8 FROM message_deliveries GROUP BY status") {
            out[try r.decode(0, as: String.self)] = try r.decode(1, as: Int.self)
        }
        return out
    }
}

/// `sms_suppressions`: numbers that opted out of an organization's texts.
public enum SuppressionsRepository {
    public static func optOut(organizationID: String, phone: String, keyword: String, now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute(
            """
            INSERT INTO sms_suppressions (organization_id, phone, keyword, opted_out_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (organization_id, phone) DO NOTHING
            """, organizationID, phone, keyword, now)
    }

    public static func optIn(organizationID: String, phone: String, on conn: PostgresConnection) async throws {
        _ = try await conn.execute("DELETE FROM sms_suppressions WHERE organization_id = $1 AND phone = $2", organizationID, phone)
    }

    /// The keyword of suppressions that come from the PMS's consent flag, not from a text.
    public static let pmsKeyword = "PMS_CONSENT"

    /// One number's consent as the PMS stated it: no consent suppresses the number; consent lifts
    /// only a suppression the PMS made (a STOP texted by the patient stands until they text START).
    public struct PMSConsent: Sendable, Equatable {
        public var organizationID: String
        public var phone: String
        public var smsConsent: Bool
        public init(organizationID: String, phone: String, smsConsent: Bool) {
            self.organizationID = organizationID
            self.phone = phone
            self.smsConsent = smsConsent
        }
    }

    /// A batch's consents in two statements, not one per plan (a round trip per acceptance was
    /// the classifier's only per-event statement). For a number stated more than once, the last
    /// statement in `consents` order wins, as applying them one by one would.
    public static func applyPMSConsent(_ consents: [PMSConsent], now: Date, on conn: PostgresConnection) async throws {
        var last: [String: Int] = [:]
        for (i, c) in consents.enumerated() { last[c.organizationID + "\u{0}" + c.phone] = i }
        let final = last.values.sorted().map { consents[$0] }
        let given = final.filter(\.smsConsent)
        let refused = final.filter { !$0.smsConsent }
        if !given.isEmpty {
            try await conn.executeLater(
                """
                DELETE FROM sms_suppressions s USING unnest($1::text[], $2::text[]) AS u(o, p)
                WHERE s.organization_id = u.o AND s.phone = u.p AND s.keyword = $3
                """, given.map(\.organizationID), given.map(\.phone), pmsKeyword)
        }
        if !refused.isEmpty {
            try await conn.executeLater(
                """
                INSERT INTO sms_suppressions (organization_id, phone, keyword, opted_out_at)
                SELECT o, p, $3, $4 FROM unnest($1::text[], $2::text[]) AS u(o, p)
                ON CONFLICT (organization_id, phone) DO NOTHING
                """, refused.map(\.organizationID), refused.map(\.phone), pmsKeyword, now)
        }
    }

    public static func isSuppressed(organizationID: String, phone: String, on conn: PostgresConnection) async throws -> Bool {
        try await !conn.query("SELECT 1 FROM sms_suppressions WHERE organization_id = $1 AND phone = $2", organizationID, phone).isEmpty
    }
}
