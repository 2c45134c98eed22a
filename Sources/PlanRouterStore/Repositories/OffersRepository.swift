import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A plan asked to be offered, with what PostgreSQL knows about it.
public struct PlanToOffer: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var patientID: String
    public var providerID: String
    public var coordinatorID: String?
    public var acceptedAt: Date
    public var patientJSON: String
    public var status: String
    /// An offer for this acceptance exists already.
    public var alreadyOffered: Bool
    public var procedureCodes: [String]
    /// A series visit's earliest opening (`plan_visits.not_before`; docs/rules.md#visits).
    public var notBefore: Date?
}

/// A case waiting for a booking (status offered) with its current classification: for nudges.
public struct OfferedCase: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var patientID: String
    public var providerID: String
    public var coordinatorID: String?
    public var acceptedAt: Date
    public var patientJSON: String
    public var tier: String
    public var path: String
    public var chairMinutes: Int
    public var depositCents: Int64
    public var valueCents: Int64
    public var slaSeconds: Int
    public var providerRole: String?
    public var reasons: [String]
    public var procedureCodes: [String]
    /// A series visit's earliest opening (`plan_visits.not_before`; docs/rules.md#visits).
    public var notBefore: Date?
}

/// An initial offer to record.
public struct NewOfferRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var path: String
    public var channel: String
    public var openings: JSONValue
    public var depositCents: Int64
    public var linkExpiresAt: Date
    public var planAcceptedAt: Date
    public var slaSeconds: Int32
    /// When the offer's first contact is released to delivery: the message's `send_after` when it waits
    /// for the end of quiet hours; nil = when it is written (`now`). The SLA is measured to this instant.
    public var releasedAt: Date?

    public init(
        key: PlanKey, locationID: String, path: String, channel: String, openings: JSONValue, depositCents: Int64, linkExpiresAt: Date,
        planAcceptedAt: Date, slaSeconds: Int32, releasedAt: Date? = nil
    ) {
        self.releasedAt = releasedAt
        self.key = key
        self.locationID = locationID
        self.path = path
        self.channel = channel
        self.openings = openings
        self.depositCents = depositCents
        self.linkExpiresAt = linkExpiresAt
        self.planAcceptedAt = planAcceptedAt
        self.slaSeconds = slaSeconds
    }
}

/// An offer behind a booking link.
public struct LinkedOffer: Sendable {
    public var offerID: Int64
    public var locationID: String
    public var depositCents: Int64
    public var used: Bool
    public var planStatus: String
    public var firstName: String
    public var timeZone: String
    public var locationName: String
    /// From locations.yaml (E.164), when set.
    public var locationPhone: String?
    /// How many openings the offer named.
    public var offeredCount: Int
    public var patientID: String
    /// How many times the patient asked for later times on this offer's link (migration 0032).
    public var laterRounds: Int = 0
}

/// `offers`: every offer (initial and nudges) sent for a case.
public enum OffersRepository {
    /// The plans named by plan.classified events, with their status and whether this acceptance was offered already.
    public static func plansToOffer(_ keys: [PlanKey], on tx: PostgresConnection) async throws -> [PlanKey: PlanToOffer] {
        let rows = try await tx.query(
            """
            SELECT p.organization_id, p.plan_id, p.location_id, p.patient_id, p.provider_id, p.coordinator_id, p.accepted_at, p.patient,
                   p.status, EXISTS (SELECT 1 FROM offers o WHERE o.organization_id = p.organization_id AND o.plan_id = p.plan_id
                                     AND o.plan_accepted_at = p.accepted_at),
                   ARRAY(SELECT code FROM plan_procedures pp WHERE pp.organization_id = p.organization_id AND pp.plan_id = p.plan_id ORDER BY line),
                   (SELECT v.not_before FROM plan_visits v WHERE v.organization_id = p.organization_id AND v.follow_up_plan_id = p.plan_id)
            FROM plans p JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS u(o, pl) ON p.organization_id = u.o AND p.plan_id = u.pl
            """, keys.map(\.organizationID), keys.map(\.planID))
        var out: [PlanKey: PlanToOffer] = [:]
        for r in rows {
            let key = PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self))
            out[key] = PlanToOffer(
                key: key, locationID: try r.decode(2, as: String.self), patientID: try r.decode(3, as: String.self),
                providerID: try r.decode(4, as: String.self), coordinatorID: try r.decode(5, as: String?.self),
                acceptedAt: try r.decode(6, as: Date.self), patientJSON: try r.decode(7, as: PostgresJSON.self).text,
                status: try r.decode(8, as: String.self), alreadyOffered: try r.decode(9, as: Bool.self),
                procedureCodes: try r.decode(10, as: [String].self), notBefore: try r.decode(11, as: Date?.self))
        }
        return out
    }

    /// Cases still waiting for a booking (status offered, or `status`), with their current classification.
    public static func offeredCases(
        _ keys: [PlanKey], status: CaseStatus = .offered, on tx: PostgresConnection
    ) async throws -> [OfferedCase] {
        let rows = try await tx.query(
            """
            SELECT p.organization_id, p.plan_id, p.location_id, p.patient_id, p.provider_id, p.coordinator_id, p.accepted_at, p.patient,
                   c.tier, c.path, c.chair_minutes, c.deposit_cents, c.value_cents, c.first_offer_sla_seconds, c.provider_role, c.reasons,
                   ARRAY(SELECT code FROM plan_procedures pp WHERE pp.organization_id = p.organization_id AND pp.plan_id = p.plan_id ORDER BY line),
                   (SELECT v.not_before FROM plan_visits v WHERE v.organization_id = p.organization_id AND v.follow_up_plan_id = p.plan_id)
            FROM plans p
            JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS u(o, pl) ON p.organization_id = u.o AND p.plan_id = u.pl
            JOIN LATERAL (SELECT * FROM classifications c WHERE c.organization_id = p.organization_id AND c.plan_id = p.plan_id
                          ORDER BY c.id DESC LIMIT 1) c ON true
            WHERE p.status = $3
            """, keys.map(\.organizationID), keys.map(\.planID), status.rawValue)
        return try rows.map { r in
            OfferedCase(
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                locationID: try r.decode(2, as: String.self), patientID: try r.decode(3, as: String.self),
                providerID: try r.decode(4, as: String.self), coordinatorID: try r.decode(5, as: String?.self),
                acceptedAt: try r.decode(6, as: Date.self), patientJSON: try r.decode(7, as: PostgresJSON.self).text,
                tier: try r.decode(8, as: String.self), path: try r.decode(9, as: String.self),
                chairMinutes: try r.decode(10, as: Int.self),
                depositCents: try r.decode(11, as: Int64.self), valueCents: try r.decode(12, as: Int64.self),
                slaSeconds: try r.decode(13, as: Int.self), providerRole: try r.decode(14, as: String?.self),
                reasons: try r.decode(15, as: [String].self), procedureCodes: try r.decode(16, as: [String].self),
                notBefore: try r.decode(17, as: Date?.self))
        }
    }

    /// Ids for offers not yet written, taken from the offers' sequence (`insertInitialLater`).
    /// The read is queued: it reaches the server with the transaction's next awaited statement,
    /// so taking ids costs no round trip of its own; `ids(on:)` reads them.
    public struct ReservedIDs: Sendable {
        let rows: PostgresDeferredRows

        /// The reserved ids, as many as asked for.
        public func ids(on tx: PostgresConnection) async throws -> [Int64] {
            try await tx.rows(of: rows).map { try $0.decode(0, as: Int64.self) }
        }
    }

    /// Reserves `count` offer ids (`ReservedIDs`). Ids not used are gaps in the sequence,
    /// as after any rolled-back insert.
    public static func reserveIDsLater(_ count: Int, on tx: PostgresConnection) async throws -> ReservedIDs {
        ReservedIDs(rows: try await tx.queryLater("SELECT nextval('offers_id_seq') FROM generate_series(1, $1::int4)", Int32(count)))
    }

    /// Records initial offers (one per case); returns each offer's id by plan. `sent_at` is when the offer
    /// is written (`now`), `released_at` when its first contact goes to delivery, and `sla_met` compares
    /// `released_at` with the acceptance.
    public static func insertInitial(_ rows: [NewOfferRow], now: Date, on tx: PostgresConnection) async throws -> [PlanKey: Int64] {
        let ids = try await reserveIDsLater(rows.count, on: tx).ids(on: tx)
        try await insertInitialLater(rows, ids: ids, now: now, on: tx)
        return Dictionary(zip(rows.map(\.key), ids), uniquingKeysWith: { a, _ in a })
    }

    /// `insertInitial` with ids reserved already (`reserveIDsLater`), `ids[i]` for `rows[i]`:
    /// queued, so the insert goes to the server with the next awaited statement or COMMIT.
    public static func insertInitialLater(_ rows: [NewOfferRow], ids: [Int64], now: Date, on tx: PostgresConnection) async throws {
        precondition(ids.count >= rows.count, "an id for every offer")
        try await tx.executeLater(
            """
            INSERT INTO offers (id, organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                                plan_accepted_at, sent_at, released_at, sla_seconds, sla_met)
            SELECT id, o, p, l, 'initial', pa, ch, op, d, ex, acc, $13, rel, sla, rel - acc <= make_interval(secs => sla)
            FROM unnest($12::int8[], $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int8[], $8::timestamptz[],
                        $9::timestamptz[], $10::int4[], $11::timestamptz[])
                     AS u(id, o, p, l, pa, ch, op, d, ex, acc, sla, rel)
            """,
            rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.locationID), rows.map(\.path),
            rows.map(\.channel), rows.map { PostgresJSON($0.openings.serialized()) },
            rows.map(\.depositCents), rows.map(\.linkExpiresAt),
            rows.map(\.planAcceptedAt), rows.map(\.slaSeconds), rows.map { max($0.releasedAt ?? now, now) },
            Array(ids.prefix(rows.count)), now)
    }

    /// Records nudges or re-offers (`kind` `nudge` or `reoffer`: self-book offers); returns each offer's id and link expiry by plan.
    public static func insertNudges(
        _ rows: [NewOfferRow], kind: String = "nudge", now: Date, on tx: PostgresConnection
    ) async throws -> [PlanKey: (id: Int64, expires: Date)] {
        let result = try await tx.query(
            """
            INSERT INTO offers (organization_id, plan_id, location_id, kind, path, channel, openings, deposit_cents, link_expires_at,
                                plan_accepted_at, sent_at, released_at, sla_seconds, sla_met)
            SELECT o, p, l, $11, 'self_book', ch, op, d, ex, acc, $10, $10, 0, true
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::int8[], $7::timestamptz[], $8::timestamptz[],
                        $9::int4[]) AS u(o, p, l, ch, op, d, ex, acc, ord)
            ORDER BY ord
            RETURNING id, organization_id, plan_id, link_expires_at
            """,
            rows.map(\.key.organizationID), rows.map(\.key.planID), rows.map(\.locationID), rows.map(\.channel),
            rows.map { PostgresJSON($0.openings.serialized()) }, rows.map(\.depositCents),
            rows.map(\.linkExpiresAt), rows.map(\.planAcceptedAt), rows.indices.map { Int32($0) }, now, kind)
        var out: [PlanKey: (id: Int64, expires: Date)] = [:]
        for r in result {
            out[PlanKey(organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self))] =
                (try r.decode(0, as: Int64.self), try r.decode(3, as: Date.self))
        }
        return out
    }

    /// The offer a booking link names, with its plan's status and location; `lock` locks offer and plan rows.
    public static func linked(offerID: Int64, _ key: PlanKey, lock: Bool, on conn: PostgresConnection) async throws -> LinkedOffer? {
        let rows = try await conn.query(
            """
            SELECT o.id, o.location_id, o.deposit_cents, o.used_at IS NOT NULL, p.status, coalesce(p.patient->>'first_name', ''),
                   l.time_zone, l.name, jsonb_array_length(o.openings), p.patient_id, l.phone, o.later_rounds
            FROM offers o
            JOIN plans p ON p.organization_id = o.organization_id AND p.plan_id = o.plan_id
            JOIN locations l ON l.organization_id = o.organization_id AND l.id = o.location_id
            WHERE o.id = $1 AND o.organization_id = $2 AND o.plan_id = $3
            """ + (lock ? " FOR UPDATE OF o, p" : ""),
            offerID, key.organizationID, key.planID)
        guard let r = rows.first else { return nil }
        return LinkedOffer(
            offerID: try r.decode(0, as: Int64.self), locationID: try r.decode(1, as: String.self),
            depositCents: try r.decode(2, as: Int64.self),
            used: try r.decode(3, as: Bool.self), planStatus: try r.decode(4, as: String.self), firstName: try r.decode(5, as: String.self),
            timeZone: try r.decode(6, as: String.self), locationName: try r.decode(7, as: String.self),
            locationPhone: try r.decode(10, as: String?.self), offeredCount: try r.decode(8, as: Int.self),
            patientID: try r.decode(9, as: String.self), laterRounds: try r.decode(11, as: Int.self))
    }

    /// "Show me later times": the offer's link now names `openings` (reservation and provider ids, in
    /// order) and counts one more round. The caller holds the offer row's lock (`linked(lock: true)`).
    public static func replaceWithLater(
        _ offerID: Int64, _ key: PlanKey, openings: [(reservationID: Int64, providerID: String)], on tx: PostgresConnection
    ) async throws {
        let json = JSONValue.array(
            openings.map { .object(["reservation_id": .int($0.reservationID), "provider_id": .string($0.providerID)]) })
        _ = try await tx.execute(
            """
            UPDATE offers SET openings = $4, later_rounds = later_rounds + 1
            WHERE id = $1 AND organization_id = $2 AND plan_id = $3
            """, offerID, key.organizationID, key.planID, PostgresJSON(json.serialized()))
    }

    /// "Show me later times" found nothing later in the horizon: the round still counts (the page
    /// said so once; the bound holds), the openings stay.
    public static func countLaterRound(_ offerID: Int64, _ key: PlanKey, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "UPDATE offers SET later_rounds = later_rounds + 1 WHERE id = $1 AND organization_id = $2 AND plan_id = $3",
            offerID, key.organizationID, key.planID)
    }

    /// The newest unused offer of an open case (offered or escalated) texted to `phone` in the
    /// organization, with its openings' reservation ids in the order the text listed them.
    public static func latestOpenOffer(
        organizationID: String, phone: String, on conn: PostgresConnection
    ) async throws
        -> (key: PlanKey, offerID: Int64, reservationIDs: [Int64])?
    {
        guard
            let r = try await conn.query(
                """
                SELECT o.plan_id, o.id, ARRAY(SELECT (e->>'reservation_id')::int8 FROM jsonb_array_elements(o.openings) WITH ORDINALITY AS x(e, n)
                                            ORDER BY n)
                FROM offers o
                JOIN plans p ON p.organization_id = o.organization_id AND p.plan_id = o.plan_id
                WHERE o.organization_id = $1 AND p.patient->>'phone' = $2 AND o.used_at IS NULL AND p.status IN ('offered', 'escalated')
                ORDER BY o.id DESC LIMIT 1
                """, organizationID, phone
            ).first
        else { return nil }
        return (
            PlanKey(organizationID: organizationID, planID: try r.decode(0, as: String.self)), try r.decode(1, as: Int64.self),
            try r.decode(2, as: [Int64].self)
        )
    }

    public static func markUsed(_ offerID: Int64, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("UPDATE offers SET used_at = $2 WHERE id = $1", offerID, now)
    }

    /// First offers by tier (the latest classification's) and whether they met the SLA.
    public static func firstOfferSLACounts(on conn: PostgresConnection) async throws -> [(tier: String, met: Bool, count: Int)] {
        try await conn.query(
            """
            SELECT coalesce(c.tier, 'unclassified'), o.sla_met, count(*)
            FROM offers o
            LEFT JOIN LATERAL (
                SELECT tier FROM classifications c
                WHERE c.organization_id = o.organization_id AND c.plan_id = o.plan_id ORDER BY c.id DESC LIMIT 1
            ) c ON true
            WHERE o.kind = 'initial'
            GROUP BY 1, 2 ORDER BY 1, 2
            """
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Bool.self), try $0.decode(2, as: Int.self)) }
    }
}
