import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A hold to insert for a case.
public struct NewHoldRow: Sendable {
    public var key: PlanKey
    public var locationID: String
    public var patientID: String
    public var opening: Opening
    /// Epoch seconds.
    public var expiresAt: Int64

    public init(key: PlanKey, locationID: String, patientID: String, opening: Opening, expiresAt: Int64) {
        self.key = key
        self.locationID = locationID
        self.patientID = patientID
        self.opening = opening
        self.expiresAt = expiresAt
    }
}

/// A hold that won, as the insert returned it.
public struct WonHold: Sendable, Hashable {
    public var reservationID: Int64
    public var key: PlanKey
    public var providerID: String
    public var start: Int64
}

/// An active hold of a case.
public struct HeldReservation: Sendable {
    public var reservationID: Int64
    public var key: PlanKey
    public var providerID: String
    public var operatoryID: String?
    /// Epoch seconds: provider time for `heldForCases`, chair time for the booking service.
    public var start: Int64
    public var end: Int64
}

/// A case's active booking with its place, for its confirmation and calendar file.
public struct ActiveBooking: Sendable {
    public var reservationID: Int64
    public var locationID: String
    public var providerID: String
    /// Chair time, epoch seconds.
    public var start: Int64
    public var end: Int64
    public var locationName: String
    public var locationAddress: String?
    public var timeZone: String
}

/// A hold released because the mirrored calendar no longer allows it.
public struct ReleasedHold: Sendable, Hashable {
    public var reservationID: Int64
    public var key: PlanKey
    public var locationID: String
    /// Released by a PMS appointment of the same patient or plan (the front desk booked them): nothing to re-offer.
    public var byOwnAppointment: Bool = false

    /// The hold's location: the case's organization and the hold's location id.
    public var location: LocationKey { LocationKey(organizationID: key.organizationID, locationID: locationID) }
}

/// A PMS appointment to mirror.
public struct PMSAppointmentRow: Sendable {
    public var organizationID: String
    public var locationID: String
    public var providerID: String
    public var operatoryID: String?
    public var planID: String?
    public var patientID: String
    public var appointmentID: String
    public var status: String
    public var providerTime: (start: Date, end: Date)
    public var chairTime: (start: Date, end: Date)
    public var changedAt: Date

    public init(
        organizationID: String, locationID: String, providerID: String, operatoryID: String?, planID: String?, patientID: String,
        appointmentID: String, status: String, providerTime: (start: Date, end: Date), chairTime: (start: Date, end: Date), changedAt: Date
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.providerID = providerID
        self.operatoryID = operatoryID
        self.planID = planID
        self.patientID = patientID
        self.appointmentID = appointmentID
        self.status = status
        self.providerTime = providerTime
        self.chairTime = chairTime
        self.changedAt = changedAt
    }
}

/// `reservations`: PlanRouter's holds and bookings and the PMS's appointments in one
/// table, so the exclusion constraints forbid double booking.
public enum ReservationsRepository {
    /// Releases the plans' active holds; returns the locations they were at.
    public static func releaseHolds(of keys: [PlanKey], reason: String, now: Date, on tx: PostgresConnection) async throws -> [LocationKey]
    {
        let released = try await tx.query(
            """
            UPDATE reservations r SET active = false, released_at = $3, release_reason = $4
            FROM unnest($1::text[], $2::text[]) AS u(o, p)
            WHERE r.organization_id = u.o AND r.plan_id = u.p AND r.kind = 'hold' AND r.active
            RETURNING r.organization_id, r.location_id
            """, keys.map(\.organizationID), keys.map(\.planID), now, reason)
        return try released.map(AvailabilityRepository.decodeLocation)
    }

    /// Releases expired holds at the locations (`$1`, `$2`) by `$3`, and bumps the calendars of
    /// the locations where any was released (`LocationsRepository.bumpCalendars`).
    ///
    /// The offer worker runs it before every batch, so PostgreSQL keeps a generic plan for it
    /// (docs/postgres.md), and that plan must find expired holds through
    /// `reservations_hold_expiry`. A generic plan cannot know that `expires_at <= $3` means "now"
    /// and takes it to keep a third of the active holds: at 1,000 acceptances/s that plan took
    /// 1.55 ms a call instead of 0.02 ms. The lower bound `'-infinity'`, true of every row, is
    /// there for the planner: a range with a bound it cannot see is estimated at 0.5% of the
    /// rows. That is the right order for "expired by now", and the generic plan then uses the
    /// expiry index (0.016–0.021 ms a call; docs/benchmarks.md, twelfth sitting). Planning it at
    /// every execution (`PostgresStatement.plannedForValues`) cost 0.35 ms a batch.
    /// `ExpiredHoldsReleasePlanTests` holds the estimate to that.
    static let releaseExpiredHolds = """
        WITH r AS (UPDATE reservations SET active = false, released_at = $3, release_reason = 'expired'
                   WHERE kind = 'hold' AND active AND expires_at > '-infinity' AND expires_at <= $3
                     AND \(AvailabilityRepository.amongLocations)
                   RETURNING organization_id, location_id)
        UPDATE locations SET calendar_version = calendar_version + 1
        WHERE (organization_id, id) IN (SELECT DISTINCT organization_id, location_id FROM r)
        """

    /// Releases expired holds at the locations and marks the calendars of the locations where
    /// any was released changed (`LocationsRepository.bumpCalendars`), in one queued statement
    /// (`executeLater`): the offer worker does not need the answer, only a later read that sees it.
    public static func releaseExpiredHoldsLater(at locations: [LocationKey], now: Date, on tx: PostgresConnection) async throws {
        guard !locations.isEmpty else { return }
        try await tx.executeLater(releaseExpiredHolds, locations.map(\.organizationID), locations.map(\.locationID), now)
    }

    /// The cases' active, unexpired holds, by start.
    public static func heldForCases(_ keys: [PlanKey], now: Date, on tx: PostgresConnection) async throws -> [HeldReservation] {
        let held = try await tx.query(
            """
            SELECT organization_id, plan_id, id, provider_id, operatory_id, extract(epoch FROM lower(during))::int8,
                   extract(epoch FROM upper(during))::int8
            FROM reservations WHERE kind = 'hold' AND active AND expires_at > $3
              AND (organization_id, plan_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            ORDER BY lower(during)
            """, keys.map(\.organizationID), keys.map(\.planID), now)
        return try held.map { r in
            HeldReservation(
                reservationID: try r.decode(2, as: Int64.self),
                key: PlanKey(organizationID: try r.decode(0, as: String.self), planID: try r.decode(1, as: String.self)),
                providerID: try r.decode(3, as: String.self), operatoryID: try r.decode(4, as: String?.self),
                start: try r.decode(5, as: Int64.self), end: try r.decode(6, as: Int64.self))
        }
    }

    /// Inserts holds; returns the ones that won.
    /// A hold loses when the exclusion constraint finds an active hold or booking in
    /// the way (`ON CONFLICT DO NOTHING` works with exclusion constraints) or when a
    /// PMS appointment, outside the constraint, overlaps it.
    ///
    /// The insert is tried first without `ON CONFLICT`, under a savepoint. With it,
    /// PostgreSQL checks every row against both exclusion constraints twice (a speculative
    /// pre-check, then the insert's own check), and 700 holds took 88–115 ms instead of
    /// 52 ms (docs/benchmarks.md, "ninth sitting"). A conflict is rare: the worker searched a
    /// calendar holding every reservation it knows of, so only a competitor it has not seen
    /// yet (another process's hold, a booking made a moment ago) is in the way. Then the
    /// attempt is rolled back to the savepoint, which keeps every write before it, and the
    /// batch goes again with `ON CONFLICT DO NOTHING`, which skips the losers. Each call
    /// takes one subtransaction id; an offer batch calls it at most once per search round
    /// (`OfferPlanner.holdRounds`, 8), well under the 64 a backend tracks before other sessions' snapshots slow down.
    public static func insertHolds(_ items: [NewHoldRow], now: Date, on tx: PostgresConnection) async throws -> [WonHold] {
        guard !items.isEmpty else { return [] }
        // Queued, so it travels in the insert's round trip.
        try await tx.executeLater("SAVEPOINT hold_insert")
        let rows: PostgresRows
        do {
            rows = try await insertHoldRows(items, skippingConflicts: false, now: now, on: tx)
        } catch let error as PostgresError where error.isHoldConflict {
            try await tx.executeLater("ROLLBACK TO SAVEPOINT hold_insert")
            rows = try await insertHoldRows(items, skippingConflicts: true, now: now, on: tx)
        }
        // Queued too: it goes with the next statement, or with COMMIT.
        try await tx.executeLater("RELEASE SAVEPOINT hold_insert")
        return try rows.map { r in
            WonHold(
                reservationID: try r.decode(0, as: Int64.self),
                key: PlanKey(organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self)),
                providerID: try r.decode(3, as: String.self), start: try r.decode(4, as: Int64.self))
        }
    }

    private static func insertHoldRows(
        _ items: [NewHoldRow], skippingConflicts: Bool, now: Date, on tx: PostgresConnection
    ) async throws -> PostgresRows {
        try await tx.query(
            """
            INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, organization_id, plan_id,
                                      patient_id, expires_at, created_at)
            SELECT l, p, op, tstzrange(to_timestamp(s), to_timestamp(e)), tstzrange(to_timestamp(s), to_timestamp(e)), 'hold', org, pl,
                   pat, to_timestamp(ex), $10
            FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::int8[])
                 AS u(l, p, op, s, e, org, pl, pat, ex)
            WHERE NOT EXISTS (
                -- A PMS appointment's provider time lies within its chair time, so the chair-time
                -- overlap is a correct pre-filter, and the one the partial GiST index answers.
                SELECT 1 FROM reservations r WHERE r.organization_id = u.org AND r.location_id = u.l AND r.active AND r.kind = 'pms'
                  AND r.operatory_during && tstzrange(to_timestamp(u.s), to_timestamp(u.e))
                  AND ((r.provider_id = u.p AND r.during && tstzrange(to_timestamp(u.s), to_timestamp(u.e)))
                       OR (u.op IS NOT NULL AND r.operatory_id = u.op AND r.operatory_during && tstzrange(to_timestamp(u.s), to_timestamp(u.e)))))
            \(skippingConflicts ? "ON CONFLICT DO NOTHING" : "")
            RETURNING id, organization_id, plan_id, provider_id, extract(epoch FROM lower(during))::int8
            """,
            items.map(\.locationID), items.map(\.opening.providerID), items.map(\.opening.operatoryID),
            items.map(\.opening.range.start), items.map(\.opening.range.end), items.map(\.key.organizationID),
            items.map(\.key.planID), items.map(\.patientID), items.map(\.expiresAt), now)
    }

    /// Keeps active holds until the new expiry times.
    public static func extendHolds(_ ids: [Int64], until: [Date], on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "UPDATE reservations r SET expires_at = u.e FROM unnest($1::int8[], $2::timestamptz[]) AS u(id, e) WHERE r.id = u.id AND r.active",
            ids, until)
    }

    /// Upserts PMS appointments (the newest change wins); returns the ids written.
    public static func upsertPMSAppointments(_ items: [PMSAppointmentRow], now: Date, on tx: PostgresConnection) async throws -> [Int64] {
        let rows = try await tx.query(
            """
            INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, active, organization_id,
                                      plan_id, patient_id, appointment_id, status, changed_at, created_at)
            SELECT l, p, op, tstzrange(ps, pe), tstzrange(cs, ce), 'pms', st IN ('scheduled', 'completed'), org, pl, pat, a, st, ch, $14
            FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])
                 AS u(l, p, op, ps, pe, cs, ce, org, pl, pat, a, st, ch)
            ON CONFLICT (organization_id, location_id, appointment_id) WHERE kind = 'pms' DO UPDATE SET
                provider_id = EXCLUDED.provider_id, operatory_id = EXCLUDED.operatory_id, during = EXCLUDED.during,
                operatory_during = EXCLUDED.operatory_during, active = EXCLUDED.active, plan_id = EXCLUDED.plan_id,
                patient_id = EXCLUDED.patient_id, status = EXCLUDED.status, changed_at = EXCLUDED.changed_at
            WHERE reservations.changed_at <= EXCLUDED.changed_at
            RETURNING id
            """,
            items.map(\.locationID), items.map(\.providerID), items.map(\.operatoryID), items.map(\.providerTime.start),
            items.map(\.providerTime.end), items.map(\.chairTime.start), items.map(\.chairTime.end), items.map(\.organizationID),
            items.map(\.planID), items.map(\.patientID), items.map(\.appointmentID), items.map(\.status), items.map(\.changedAt), now)
        return try rows.map { try $0.decode(0, as: Int64.self) }
    }

    /// Releases holds the PMS appointments `ids` now collide with (the PMS's calendar is the truth); returns them.
    public static func releaseHoldsTakenInPMS(_ ids: [Int64], now: Date, on tx: PostgresConnection) async throws -> [ReleasedHold] {
        guard !ids.isEmpty else { return [] }
        return try decodeReleased(
            try await tx.query(
                """
                UPDATE reservations h SET active = false, released_at = $2, release_reason = 'taken_in_pms'
                FROM reservations p
                WHERE p.id = ANY($1::int8[]) AND p.active AND h.kind = 'hold' AND h.active
                  -- The keys are what the exclusion constraints' indexes answer (migration 0006); the
                  -- ids are compared too, so a hash collision never releases another resource's hold.
                  AND h.organization_id = p.organization_id AND h.location_id = p.location_id
                  AND ((h.provider_key = p.provider_key AND h.during && p.during AND h.provider_id = p.provider_id)
                       OR (h.operatory_id IS NOT NULL AND h.operatory_key = p.operatory_key AND h.operatory_during && p.operatory_during
                           AND h.operatory_id = p.operatory_id))
                RETURNING h.id, h.organization_id, h.plan_id, h.location_id,
                          (p.patient_id = h.patient_id OR p.plan_id = h.plan_id) IS TRUE
                """, ids, now))
    }

    /// Whether a hold `h` (an alias in the SQL) fits the mirrored calendar: inside one open block of its
    /// provider (in one of the block's operatories when the block names them), under no blockout that
    /// applies to it (`do_not_schedule` and a practice's own kinds always apply; `crown_only` unless the
    /// plan has crown work, CDT D2710–D2799, as the slot search allows). Shared by the release after a
    /// schedule change and the booking's re-check, so the two never disagree.
    static let fitsSchedule = """
        EXISTS (SELECT 1 FROM schedule_blocks b
                WHERE b.organization_id = h.organization_id AND b.location_id = h.location_id AND b.provider_id = h.provider_id AND b.during @> h.during
                  AND (cardinality(b.operatory_ids) = 0 OR h.operatory_id IS NULL OR h.operatory_id = ANY(b.operatory_ids)))
        AND NOT EXISTS (
            SELECT 1 FROM blockouts bo
            WHERE bo.organization_id = h.organization_id AND bo.location_id = h.location_id AND bo.during && h.operatory_during
              AND (bo.provider_id IS NULL OR bo.provider_id = h.provider_id)
              AND (cardinality(bo.operatory_ids) = 0 OR h.operatory_id = ANY(bo.operatory_ids))
              AND (bo.kind <> 'crown_only' OR NOT EXISTS (
                  SELECT 1 FROM plan_procedures pp
                  WHERE pp.organization_id = h.organization_id AND pp.plan_id = h.plan_id AND pp.code BETWEEN 'D2710' AND 'D2799')))
        """

    /// After a schedule.changed replaced the location's dates `from`…`to` (local dates): releases the
    /// active holds starting in that range that the new blocks and blockouts no longer allow; returns them.
    public static func releaseHoldsOutsideSchedule(
        location: LocationKey, from: String, to: String, now: Date, on tx: PostgresConnection
    ) async throws -> [ReleasedHold] {
        try decodeReleased(
            try await tx.query(
                """
                UPDATE reservations h SET active = false, released_at = $5, release_reason = 'schedule_changed'
                FROM locations l
                WHERE l.organization_id = h.organization_id AND l.id = h.location_id AND h.organization_id = $1 AND h.location_id = $2
                  AND h.kind = 'hold' AND h.active
                  AND lower(h.during) <@ \(AvailabilityRepository.range)
                  AND NOT (\(fitsSchedule))
                RETURNING h.id, h.organization_id, h.plan_id, h.location_id
                """, location.organizationID, location.locationID, from, to, now))
    }

    /// Releases the given active holds with `reason` (e.g. openings whose start has passed); returns them.
    public static func releaseHolds(ids: [Int64], reason: String, now: Date, on tx: PostgresConnection) async throws -> [ReleasedHold] {
        guard !ids.isEmpty else { return [] }
        return try decodeReleased(
            try await tx.query(
                """
                UPDATE reservations h SET active = false, released_at = $2, release_reason = $3
                WHERE h.id = ANY($1::int8[]) AND h.kind = 'hold' AND h.active
                RETURNING h.id, h.organization_id, h.plan_id, h.location_id
                """, ids, now, reason))
    }

    static func decodeReleased(_ rows: PostgresRows) throws -> [ReleasedHold] {
        try rows.map { r in
            ReleasedHold(
                reservationID: try r.decode(0, as: Int64.self),
                key: PlanKey(organizationID: try r.decode(1, as: String.self), planID: try r.decode(2, as: String.self)),
                locationID: try r.decode(3, as: String.self),
                byOwnAppointment: try (r.columnCount > 4 ? r.decode(4, as: Bool.self) : false))
        }
    }

    /// `fitsSchedule`, and no active PMS appointment over the hold's provider or chair time.
    static let fitsMirror = """
        (\(fitsSchedule))
        AND NOT EXISTS (
            SELECT 1 FROM reservations p
            WHERE p.organization_id = h.organization_id AND p.location_id = h.location_id AND p.active AND p.kind = 'pms'
              AND ((p.provider_id = h.provider_id AND p.during && h.during)
                   OR (h.operatory_id IS NOT NULL AND p.operatory_id = h.operatory_id AND p.operatory_during && h.operatory_during)))
        """

    /// Whether the hold `id` still fits the current mirror: its provider's open blocks, the blockouts, and no
    /// active PMS appointment over its provider or chair time. The booking's re-check, inside its transaction.
    public static func holdFitsMirror(_ id: Int64, of key: PlanKey, on tx: PostgresConnection) async throws -> Bool {
        let rows = try await tx.query(
            "SELECT \(fitsMirror) FROM reservations h WHERE h.id = $1 AND h.organization_id = $2 AND h.plan_id = $3", id,
            key.organizationID,
            key.planID)
        return try rows.first?.decode(0, as: Bool.self) ?? false
    }

    /// The offer's openings still held: active, unexpired holds of the plan named in the offer (chair time)
    /// that start no earlier than `earliestStart` (now + the offer lead time: an opening about to start or
    /// past is never shown) and still fit the mirrored calendar.
    public static func heldOpenings(
        of offerID: Int64, _ key: PlanKey, now: Date, earliestStart: Date, on conn: PostgresConnection
    ) async throws -> [HeldReservation] {
        try await conn.query(
            """
            SELECT h.id, h.provider_id, h.operatory_id, extract(epoch FROM lower(h.operatory_during))::int8,
                   extract(epoch FROM upper(h.operatory_during))::int8
            FROM reservations h
            WHERE h.organization_id = $1 AND h.plan_id = $2 AND h.kind = 'hold' AND h.active AND h.expires_at > $3
              AND lower(h.operatory_during) >= $5
              AND h.id IN (SELECT (e->>'reservation_id')::int8 FROM offers, jsonb_array_elements(offers.openings) AS e WHERE offers.id = $4)
              AND \(fitsMirror)
            ORDER BY lower(h.operatory_during), h.id
            """,
            key.organizationID, key.planID, now, offerID, earliestStart
        ).map {
            HeldReservation(
                reservationID: try $0.decode(0, as: Int64.self), key: key, providerID: try $0.decode(1, as: String.self),
                operatoryID: try $0.decode(2, as: String?.self), start: try $0.decode(3, as: Int64.self),
                end: try $0.decode(4, as: Int64.self))
        }
    }

    /// The plan's active booking (its newest), with its location's name, address and zone; nil when none.
    public static func activeBooking(_ key: PlanKey, on conn: PostgresConnection) async throws -> ActiveBooking? {
        guard
            let r = try await conn.query(
                """
                SELECT r.id, r.location_id, r.provider_id, extract(epoch FROM lower(r.operatory_during))::int8,
                       extract(epoch FROM upper(r.operatory_during))::int8, l.name, l.address, l.time_zone
                FROM reservations r
                JOIN locations l ON l.organization_id = r.organization_id AND l.id = r.location_id
                WHERE r.organization_id = $1 AND r.plan_id = $2 AND r.kind = 'booking' AND r.active
                ORDER BY r.id DESC LIMIT 1
                """, key.organizationID, key.planID
            ).first
        else { return nil }
        return ActiveBooking(
            reservationID: try r.decode(0, as: Int64.self), locationID: try r.decode(1, as: String.self),
            providerID: try r.decode(2, as: String.self), start: try r.decode(3, as: Int64.self), end: try r.decode(4, as: Int64.self),
            locationName: try r.decode(5, as: String.self), locationAddress: try r.decode(6, as: String?.self),
            timeZone: try r.decode(7, as: String.self))
    }

    /// Whether the plan has any valid hold left (of any of its offers): active, unexpired, starting no earlier
    /// than `earliestStart`, fitting the mirror. A link whose own openings are all gone may be an old one.
    public static func hasValidHold(_ key: PlanKey, now: Date, earliestStart: Date, on conn: PostgresConnection) async throws -> Bool {
        let rows = try await conn.query(
            """
            SELECT EXISTS (SELECT 1 FROM reservations h
                           WHERE h.organization_id = $1 AND h.plan_id = $2 AND h.kind = 'hold' AND h.active AND h.expires_at > $3
                             AND lower(h.operatory_during) >= $4 AND \(fitsMirror))
            """, key.organizationID, key.planID, now, earliestStart)
        return try rows[0].decode(0, as: Bool.self)
    }

    /// Locks one active, unexpired hold of the plan (chair time) starting no earlier than `earliestStart`;
    /// nil when it is gone or too late to book.
    public static func lockHold(
        _ id: Int64, of key: PlanKey, now: Date, earliestStart: Date, on tx: PostgresConnection
    ) async throws -> HeldReservation? {
        let held = try await tx.query(
            """
            SELECT id, provider_id, operatory_id, extract(epoch FROM lower(operatory_during))::int8,
                   extract(epoch FROM upper(operatory_during))::int8
            FROM reservations
            WHERE id = $1 AND organization_id = $2 AND plan_id = $3 AND kind = 'hold' AND active AND expires_at > $4
              AND lower(operatory_during) >= $5
            FOR UPDATE
            """, id, key.organizationID, key.planID, now, earliestStart)
        guard let h = held.first else { return nil }
        return HeldReservation(
            reservationID: try h.decode(0, as: Int64.self), key: key, providerID: try h.decode(1, as: String.self),
            operatoryID: try h.decode(2, as: String?.self), start: try h.decode(3, as: Int64.self), end: try h.decode(4, as: Int64.self))
    }

    /// The hold becomes the booking: same ranges, so the exclusion constraint cannot object.
    public static func book(_ id: Int64, of key: PlanKey, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            UPDATE reservations SET kind = 'booking', expires_at = NULL, status = 'booked', changed_at = $4
            WHERE id = $1 AND organization_id = $2 AND plan_id = $3
            """, id, key.organizationID, key.planID, now)
    }

    /// Ends an active booking of the plan (the patient moved it: `release_reason = reason`); its time is free
    /// again for the exclusion constraint. Returns whether it was active.
    public static func releaseBooking(
        _ id: Int64, of key: PlanKey, reason: String, now: Date, on tx: PostgresConnection
    ) async throws
        -> Bool
    {
        try await tx.query(
            """
            UPDATE reservations SET active = false, released_at = $4, release_reason = $5, status = 'cancelled', changed_at = $4
            WHERE id = $1 AND organization_id = $2 AND plan_id = $3 AND kind = 'booking' AND active
            RETURNING id
            """, id, key.organizationID, key.planID, now, reason
        ).first != nil
    }
}

extension PostgresError {
    /// A hold collided with an active hold or booking: one of the two exclusion constraints
    /// on `reservations` (0006_reservation_keys.sql) refused it.
    var isHoldConflict: Bool {
        sqlState == "23P01" && (constraintName == "reservations_provider_free" || constraintName == "reservations_operatory_free")
    }
}
