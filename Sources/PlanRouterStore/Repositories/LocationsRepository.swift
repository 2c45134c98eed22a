import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Location facts the workers need.
public struct LocationInfo: Sendable {
    public var id: String
    public var name: String
    public var timeZone: TimeZone
    public var incrementMinutes: Int
    public var defaultCoordinatorID: String?
    public var calendarVersion: Int64

    public init(id: String, name: String, timeZone: TimeZone, incrementMinutes: Int, defaultCoordinatorID: String?, calendarVersion: Int64)
    {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.incrementMinutes = incrementMinutes
        self.defaultCoordinatorID = defaultCoordinatorID
        self.calendarVersion = calendarVersion
    }
}

/// `organizations` and `locations` (time zone, default coordinator, calendar version).
public enum LocationsRepository {
    /// Creates the organizations and locations not there yet; `locations`: location id -> organization id.
    public static func ensure(locations: [String: String], on tx: PostgresConnection) async throws {
        let orgs = Array(Set(locations.values)).sorted()
        // Only ids not already there reach ON CONFLICT: its uniqueness check waits for any
        // transaction updating the existing row, and offer workers update their locations'
        // calendar_version in every batch (measured: ~19 ms a batch spent waiting).
        _ = try await tx.execute(
            """
            INSERT INTO organizations (id) SELECT o FROM unnest($1::text[]) AS u(o)
            WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE id = u.o) ON CONFLICT DO NOTHING
            """, orgs)
        let ids = locations.keys.sorted()
        _ = try await tx.execute(
            """
            INSERT INTO locations (id, organization_id) SELECT l, o FROM unnest($1::text[], $2::text[]) AS u(l, o)
            WHERE NOT EXISTS (SELECT 1 FROM locations WHERE id = u.l) ON CONFLICT DO NOTHING
            """, ids, ids.map { locations[$0]! })
    }

    /// Creates one organization and location if missing.
    public static func ensure(organization org: String, location: String, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("INSERT INTO organizations (id) VALUES ($1) ON CONFLICT DO NOTHING", org)
        _ = try await tx.execute("INSERT INTO locations (id, organization_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", location, org)
    }

    public static func setTimeZone(_ zone: String, location: String, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("UPDATE locations SET time_zone = $2 WHERE id = $1 AND time_zone <> $2", location, zone)
    }

    /// Records that the location's schedule mirror was refreshed (a schedule.changed applied) at `now`.
    public static func markScheduleSynced(_ location: String, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "UPDATE locations SET schedule_synced_at = $2 WHERE id = $1 AND (schedule_synced_at IS NULL OR schedule_synced_at < $2)",
            location, now)
    }

    /// Locations whose schedule mirror was last refreshed before `cutoff` (never-synced ones are not stale), by id.
    public static func staleCalendars(
        syncedBefore cutoff: Date, among ids: [String]? = nil, on conn: PostgresConnection
    ) async throws
        -> [(id: String, syncedAt: Date)]
    {
        try await conn.query(
            """
            SELECT id, schedule_synced_at FROM locations
            WHERE schedule_synced_at < $1 AND ($3 OR id = ANY($2::text[])) ORDER BY id
            """, cutoff, ids ?? [], ids == nil
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Date.self)) }
    }

    /// Marks the locations' calendars changed, so offer workers reload them.
    public static func bumpCalendars(_ locations: [String], on tx: PostgresConnection) async throws {
        guard !locations.isEmpty else { return }
        _ = try await tx.execute(
            "UPDATE locations SET calendar_version = calendar_version + 1 WHERE id = ANY($1::text[])", locations.sorted())
    }

    /// `bumpCalendars` that returns each location's new version.
    public static func bumpCalendarsReturningVersions(_ locations: [String], on tx: PostgresConnection) async throws -> [String: Int64] {
        let versions = try await tx.query(
            "UPDATE locations SET calendar_version = calendar_version + 1 WHERE id = ANY($1::text[]) RETURNING id, calendar_version",
            locations.sorted())
        var out: [String: Int64] = [:]
        for r in versions { out[try r.decode(0, as: String.self)] = try r.decode(1, as: Int64.self) }
        return out
    }

    public static func infos(_ ids: [String], on tx: PostgresConnection) async throws -> [String: LocationInfo] {
        let rows = try await tx.query(
            "SELECT id, name, time_zone, time_increment_minutes, default_coordinator_id, calendar_version FROM locations WHERE id = ANY($1::text[])",
            ids)
        var out: [String: LocationInfo] = [:]
        for r in rows {
            let id = try r.decode(0, as: String.self)
            out[id] = LocationInfo(
                id: id, name: try r.decode(1, as: String.self),
                timeZone: TimeZone(identifier: try r.decode(2, as: String.self)) ?? TimeZone(identifier: "UTC")!,
                incrementMinutes: try r.decode(3, as: Int.self), defaultCoordinatorID: try r.decode(4, as: String?.self),
                calendarVersion: try r.decode(5, as: Int64.self))
        }
        return out
    }
}
