import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A provider's open block or a blockout, as schedule.changed carries it.
public struct ScheduleRange: Sendable {
    /// Nil for a location-wide blockout.
    public var providerID: String?
    public var start: Date
    public var end: Date
    /// For blockouts: their type.
    public var kind: String
    public var operatoryIDs: JSONValue

    public init(providerID: String?, start: Date, end: Date, kind: String = "", operatoryIDs: JSONValue) {
        self.providerID = providerID
        self.start = start
        self.end = end
        self.kind = kind
        self.operatoryIDs = operatoryIDs
    }
}

/// A provider of a location, as schedule.changed carries it.
public struct ProviderRow: Sendable {
    public var providerID: String
    public var roles: JSONValue
    public var operatoryIDs: JSONValue

    public init(providerID: String, roles: JSONValue, operatoryIDs: JSONValue) {
        self.providerID = providerID
        self.roles = roles
        self.operatoryIDs = operatoryIDs
    }
}

/// The availability mirror: `providers`, `schedule_blocks`, `blockouts` (and the busy time
/// of `reservations` when calendars are loaded). Schedule ranges are local dates of the
/// location: from local midnight of `from` to local midnight after `to`. Every statement names
/// the location by organization and id (migration 0011).
public enum AvailabilityRepository {
    /// The local dates `$3`…`$4` of the location `l` as a range of instants.
    static let range = "tstzrange((($3::date)::timestamp AT TIME ZONE l.time_zone), (($4::date + 1)::timestamp AT TIME ZONE l.time_zone))"
    /// Rows of the table alias `b` at the location `$1` (organization), `$2` (id), joined to it as `l`.
    static let atLocation =
        "l.organization_id = b.organization_id AND l.id = b.location_id AND b.organization_id = $1 AND b.location_id = $2"
    /// Rows among the locations `$1` (organizations), `$2` (ids).
    static let amongLocations = "(organization_id, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"

    /// Whether a schedule changed after `changedAt` already covers part of the range.
    public static func newerScheduleExists(
        location: LocationKey, from: String, to: String, changedAt: Date, on tx: PostgresConnection
    ) async throws -> Bool {
        let newer = try await tx.query(
            "SELECT 1 FROM schedule_blocks b, locations l WHERE \(atLocation) AND b.during && \(range) AND b.changed_at > $5 LIMIT 1",
            location.organizationID, location.locationID, from, to, changedAt)
        return !newer.isEmpty
    }

    /// Deletes the blocks and blockouts starting in the range.
    public static func clearSchedule(location: LocationKey, from: String, to: String, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "DELETE FROM schedule_blocks b USING locations l WHERE \(atLocation) AND lower(b.during) <@ \(range)",
            location.organizationID, location.locationID, from, to)
        _ = try await tx.execute(
            "DELETE FROM blockouts b USING locations l WHERE \(atLocation) AND lower(b.during) <@ \(range)",
            location.organizationID, location.locationID, from, to)
    }

    public static func upsertProviders(_ providers: [ProviderRow], location: LocationKey, now: Date, on tx: PostgresConnection) async throws
    {
        guard !providers.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO providers (organization_id, location_id, provider_id, roles, operatory_ids, updated_at)
            SELECT $1, $2, p, ARRAY(SELECT jsonb_array_elements_text(r)), ARRAY(SELECT jsonb_array_elements_text(o)), $6
            FROM unnest($3::text[], $4::jsonb[], $5::jsonb[]) AS u(p, r, o)
            ON CONFLICT (organization_id, location_id, provider_id) DO UPDATE SET roles = EXCLUDED.roles,
                operatory_ids = EXCLUDED.operatory_ids, updated_at = EXCLUDED.updated_at
            """,
            location.organizationID, location.locationID, providers.map(\.providerID),
            providers.map { PostgresJSON($0.roles.serialized()) },
            providers.map { PostgresJSON($0.operatoryIDs.serialized()) }, now)
    }

    /// Providers named only in blocks still need a row (no roles known yet).
    public static func ensureProviders(_ ids: [String], location: LocationKey, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO providers (organization_id, location_id, provider_id, updated_at) SELECT DISTINCT $1, $2, unnest($3::text[]), $4
            ON CONFLICT DO NOTHING
            """, location.organizationID, location.locationID, ids, now)
    }

    public static func insertBlocks(
        _ blocks: [ScheduleRange], location: LocationKey, changedAt: Date, on tx: PostgresConnection
    ) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO schedule_blocks (organization_id, location_id, provider_id, during, operatory_ids, changed_at)
            SELECT $1, $2, p, tstzrange(s, e), ARRAY(SELECT jsonb_array_elements_text(o)), $7
            FROM unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[]) AS u(p, s, e, o)
            """, location.organizationID, location.locationID, blocks.map { $0.providerID ?? "" }, blocks.map(\.start),
            blocks.map(\.end), blocks.map { PostgresJSON($0.operatoryIDs.serialized()) }, changedAt)
    }

    public static func insertBlockouts(
        _ outs: [ScheduleRange], location: LocationKey, changedAt: Date, on tx: PostgresConnection
    ) async throws {
        guard !outs.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO blockouts (organization_id, location_id, provider_id, during, kind, operatory_ids, changed_at)
            SELECT $1, $2, p, tstzrange(s, e), k, ARRAY(SELECT jsonb_array_elements_text(o)), $8
            FROM unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::jsonb[]) AS u(p, s, e, k, o)
            """, location.organizationID, location.locationID, outs.map(\.providerID), outs.map(\.start), outs.map(\.end),
            outs.map(\.kind), outs.map { PostgresJSON($0.operatoryIDs.serialized()) }, changedAt)
    }

    // MARK: Loading calendars (four queries in one round trip for any number of locations)

    static func decodeLocation(_ r: PostgresRow) throws -> LocationKey {
        LocationKey(organizationID: try r.decode(0, as: String.self), locationID: try r.decode(1, as: String.self))
    }

    /// What a calendar is made of, for some locations over a window.
    public struct CalendarRows: Sendable {
        public var providers: [(location: LocationKey, providerID: String, roles: [String], operatoryIDs: [String])]
        public var blocks: [(location: LocationKey, providerID: String, range: TimeRange, operatoryIDs: [String])]
        /// Busy time: active reservations overlapping the window; expired holds not yet swept are ignored.
        public var busy: [(location: LocationKey, providerID: String, operatoryID: String?, provider: TimeRange?, chair: TimeRange?)]
        public var blockouts: [(location: LocationKey, blockout: Blockout)]
    }

    static let epoch = "extract(epoch FROM lower(during))::int8, extract(epoch FROM upper(during))::int8"

    /// Providers (in id order), schedule blocks, busy time and blockouts of the locations over
    /// `from`..`to`: four queries sent in one pipeline, so one round trip.
    ///
    /// A booking the PMS refused in the last hour stays busy: the PMS said no to that time
    /// (usually someone took it there), and the schedule mirror may not show why yet; offering
    /// it again (the refusal's own re-offer first) would be refused again.
    public static func calendarRows(
        at locations: [LocationKey], from: Date, to: Date, now: Date, on tx: PostgresConnection
    ) async throws -> CalendarRows {
        let orgs = locations.map(\.organizationID)
        let ids = locations.map(\.locationID)
        // Each result is decoded and dropped in turn: libpq's results of a large slice are
        // the offer worker's peak memory (CalendarStore.loadSlice).
        var results = try await tx.query([
            PostgresStatement(
                """
                SELECT organization_id, location_id, provider_id, roles, operatory_ids FROM providers WHERE \(amongLocations)
                ORDER BY organization_id, location_id, provider_id
                """, orgs, ids),
            PostgresStatement(
                """
                SELECT organization_id, location_id, provider_id, \(epoch), operatory_ids FROM schedule_blocks
                WHERE \(amongLocations) AND during && tstzrange($3, $4)
                """, orgs, ids, from, to),
            PostgresStatement(
                """
                \(PostgresStatement.plannedForValues)SELECT organization_id, location_id, provider_id, operatory_id, \(epoch), extract(epoch FROM lower(operatory_during))::int8,
                       extract(epoch FROM upper(operatory_during))::int8
                FROM reservations WHERE \(amongLocations) AND active AND operatory_during && tstzrange($3, $4)
                  -- Implied by the overlap; lets the index on the range's end skip the location's past (migration 0030).
                  AND upper(operatory_during) > $3
                  AND (kind <> 'hold' OR expires_at > $5)
                UNION ALL
                SELECT organization_id, location_id, provider_id, operatory_id, \(epoch), extract(epoch FROM lower(operatory_during))::int8,
                       extract(epoch FROM upper(operatory_during))::int8
                FROM reservations WHERE \(amongLocations) AND NOT active AND release_reason = 'pms_refused' AND released_at > $5 - interval '1 hour'
                  AND operatory_during && tstzrange($3, $4)
                """, orgs, ids, from, to, now),
            PostgresStatement(
                """
                SELECT organization_id, location_id, provider_id, operatory_ids, \(epoch), kind FROM blockouts
                WHERE \(amongLocations) AND during && tstzrange($3, $4)
                """, orgs, ids, from, to),
        ])
        let providers = try results.removeFirst().map {
            (
                try decodeLocation($0), try $0.decode(2, as: String.self), try $0.decode(3, as: [String].self),
                try $0.decode(4, as: [String].self)
            )
        }
        let blocks = try results.removeFirst().map {
            (
                try decodeLocation($0), try $0.decode(2, as: String.self),
                TimeRange(start: try $0.decode(3, as: Int64.self), end: try $0.decode(4, as: Int64.self)),
                try $0.decode(5, as: [String].self)
            )
        }
        let busy = try results.removeFirst().map { r in
            let ps = try r.decode(4, as: Int64?.self)
            let pe = try r.decode(5, as: Int64?.self)
            let op = try r.decode(3, as: String?.self)
            // Chair time matters (and is read) only for a reservation with an operatory.
            let chair = op == nil ? nil : TimeRange(start: try r.decode(6, as: Int64.self), end: try r.decode(7, as: Int64.self))
            return (
                try decodeLocation(r), try r.decode(2, as: String.self), op,
                ps.flatMap { s in pe.map { TimeRange(start: s, end: $0) } }, chair
            )
        }
        let blockouts = try results.removeFirst().map {
            (
                try decodeLocation($0),
                Blockout(
                    range: TimeRange(start: try $0.decode(4, as: Int64.self), end: try $0.decode(5, as: Int64.self)),
                    kind: try $0.decode(6, as: String.self),
                    providerID: try $0.decode(2, as: String?.self), operatoryIDs: try $0.decode(3, as: [String].self))
            )
        }
        return CalendarRows(providers: providers, blocks: blocks, busy: busy, blockouts: blockouts)
    }
}
