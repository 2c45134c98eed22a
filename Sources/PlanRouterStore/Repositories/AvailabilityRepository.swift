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
/// location: from local midnight of `from` to local midnight after `to`.
public enum AvailabilityRepository {
    static let range = "tstzrange((($2::date)::timestamp AT TIME ZONE l.time_zone), (($3::date + 1)::timestamp AT TIME ZONE l.time_zone))"

    /// Whether a schedule changed after `changedAt` already covers part of the range.
    public static func newerScheduleExists(
        location: String, from: String, to: String, changedAt: Date, on tx: PostgresConnection
    ) async throws -> Bool {
        let newer = try await tx.query(
            "SELECT 1 FROM schedule_blocks b JOIN locations l ON l.id = b.location_id WHERE b.location_id = $1 AND b.during && \(range) AND b.changed_at > $4 LIMIT 1",
            location, from, to, changedAt)
        return !newer.isEmpty
    }

    /// Deletes the blocks and blockouts starting in the range.
    public static func clearSchedule(location: String, from: String, to: String, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "DELETE FROM schedule_blocks b USING locations l WHERE l.id = b.location_id AND b.location_id = $1 AND lower(b.during) <@ \(range)",
            location, from, to)
        _ = try await tx.execute(
            "DELETE FROM blockouts b USING locations l WHERE l.id = b.location_id AND b.location_id = $1 AND lower(b.during) <@ \(range)",
            location, from, to)
    }

    public static func upsertProviders(_ providers: [ProviderRow], location: String, now: Date, on tx: PostgresConnection) async throws {
        guard !providers.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO providers (location_id, provider_id, roles, operatory_ids, updated_at)
            SELECT $1, p, ARRAY(SELECT jsonb_array_elements_text(r)), ARRAY(SELECT jsonb_array_elements_text(o)), $5
            FROM unnest($2::text[], $3::jsonb[], $4::jsonb[]) AS u(p, r, o)
            ON CONFLICT (location_id, provider_id) DO UPDATE SET roles = EXCLUDED.roles, operatory_ids = EXCLUDED.operatory_ids,
                updated_at = EXCLUDED.updated_at
            """,
            location, providers.map(\.providerID), providers.map { PostgresJSON($0.roles.serialized()) },
            providers.map { PostgresJSON($0.operatoryIDs.serialized()) }, now)
    }

    /// Providers named only in blocks still need a row (no roles known yet).
    public static func ensureProviders(_ ids: [String], location: String, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO providers (location_id, provider_id, updated_at) SELECT DISTINCT $1, unnest($2::text[]), $3
            ON CONFLICT DO NOTHING
            """, location, ids, now)
    }

    public static func insertBlocks(_ blocks: [ScheduleRange], location: String, changedAt: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            INSERT INTO schedule_blocks (location_id, provider_id, during, operatory_ids, changed_at)
            SELECT $1, p, tstzrange(s, e), ARRAY(SELECT jsonb_array_elements_text(o)), $6
            FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[]) AS u(p, s, e, o)
            """, location, blocks.map { $0.providerID ?? "" }, blocks.map(\.start), blocks.map(\.end),
            blocks.map { PostgresJSON($0.operatoryIDs.serialized()) }, changedAt)
    }

    public static func insertBlockouts(_ outs: [ScheduleRange], location: String, changedAt: Date, on tx: PostgresConnection) async throws {
        guard !outs.isEmpty else { return }
        _ = try await tx.execute(
            """
            INSERT INTO blockouts (location_id, provider_id, during, kind, operatory_ids, changed_at)
            SELECT $1, p, tstzrange(s, e), k, ARRAY(SELECT jsonb_array_elements_text(o)), $7
            FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[]) AS u(p, s, e, k, o)
            """, location, outs.map(\.providerID), outs.map(\.start), outs.map(\.end), outs.map(\.kind),
            outs.map { PostgresJSON($0.operatoryIDs.serialized()) }, changedAt)
    }

    // MARK: Loading calendars (four queries for any number of locations)

    public static func providers(
        at locations: [String], on tx: PostgresConnection
    ) async throws -> [(locationID: String, providerID: String, roles: [String], operatoryIDs: [String])] {
        try await tx.query(
            "SELECT location_id, provider_id, roles, operatory_ids FROM providers WHERE location_id = ANY($1::text[]) ORDER BY location_id, provider_id",
            locations
        ).map {
            (
                try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: [String].self),
                try $0.decode(3, as: [String].self)
            )
        }
    }

    static let epoch = "extract(epoch FROM lower(during))::int8, extract(epoch FROM upper(during))::int8"

    public static func blocks(
        at locations: [String], from: Date, to: Date, on tx: PostgresConnection
    ) async throws -> [(locationID: String, providerID: String, range: TimeRange, operatoryIDs: [String])] {
        try await tx.query(
            "SELECT location_id, provider_id, \(epoch), operatory_ids FROM schedule_blocks WHERE location_id = ANY($1::text[]) AND during && tstzrange($2, $3)",
            locations, from, to
        ).map {
            (
                try $0.decode(0, as: String.self), try $0.decode(1, as: String.self),
                TimeRange(start: try $0.decode(2, as: Int64.self), end: try $0.decode(3, as: Int64.self)),
                try $0.decode(4, as: [String].self)
            )
        }
    }

    /// Busy time: active reservations overlapping the window; expired holds not yet swept are ignored.
    public static func busy(
        at locations: [String], from: Date, to: Date, now: Date, on tx: PostgresConnection
    ) async throws
        -> [(locationID: String, providerID: String, operatoryID: String?, provider: TimeRange?, chair: TimeRange?)]
    {
        try await tx.query(
            """
            SELECT location_id, provider_id, operatory_id, \(epoch), extract(epoch FROM lower(operatory_during))::int8, extract(epoch FROM upper(operatory_during))::int8
            FROM reservations WHERE location_id = ANY($1::text[]) AND active AND operatory_during && tstzrange($2, $3)
              AND (kind <> 'hold' OR expires_at > $4)
            """, locations, from, to, now
        ).map { r in
            let ps = try r.decode(3, as: Int64?.self)
            let pe = try r.decode(4, as: Int64?.self)
            let op = try r.decode(2, as: String?.self)
            // Chair time matters (and is read) only for a reservation with an operatory.
            let chair = op == nil ? nil : TimeRange(start: try r.decode(5, as: Int64.self), end: try r.decode(6, as: Int64.self))
            return (
                try r.decode(0, as: String.self), try r.decode(1, as: String.self), op,
                ps.flatMap { s in pe.map { TimeRange(start: s, end: $0) } }, chair
            )
        }
    }

    public static func blockouts(
        at locations: [String], from: Date, to: Date, on tx: PostgresConnection
    ) async throws -> [(locationID: String, blockout: Blockout)] {
        try await tx.query(
            "SELECT location_id, provider_id, operatory_ids, \(epoch), kind FROM blockouts WHERE location_id = ANY($1::text[]) AND during && tstzrange($2, $3)",
            locations, from, to
        ).map {
            (
                try $0.decode(0, as: String.self),
                Blockout(
                    range: TimeRange(start: try $0.decode(3, as: Int64.self), end: try $0.decode(4, as: Int64.self)),
                    kind: try $0.decode(5, as: String.self),
                    providerID: try $0.decode(1, as: String?.self), operatoryIDs: try $0.decode(2, as: [String].self))
            )
        }
    }
}
