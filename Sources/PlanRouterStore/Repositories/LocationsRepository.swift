import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Location facts the workers need.
public struct LocationInfo: Sendable {
    public var organizationID: String
    public var id: String
    public var name: String
    public var timeZone: TimeZone
    public var incrementMinutes: Int
    public var defaultCoordinatorID: String?
    public var calendarVersion: Int64
    /// From locations.yaml: tier → owner of that tier's tasks here.
    public var coordinatorsByTier: [String: String]
    /// From locations.yaml; nil: the rules file's quiet hours apply.
    public var quietHours: RoutingRules.QuietHours?
    /// When the schedule mirror was last refreshed from the PMS; nil: never (see `staleCalendars`).
    public var scheduleSyncedAt: Date?

    public init(
        organizationID: String, id: String, name: String, timeZone: TimeZone, incrementMinutes: Int, defaultCoordinatorID: String?,
        calendarVersion: Int64, coordinatorsByTier: [String: String] = [:], quietHours: RoutingRules.QuietHours? = nil
    ) {
        self.organizationID = organizationID
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.incrementMinutes = incrementMinutes
        self.defaultCoordinatorID = defaultCoordinatorID
        self.calendarVersion = calendarVersion
        self.coordinatorsByTier = coordinatorsByTier
        self.quietHours = quietHours
    }

    /// The owner of a task for a case of `tier` here (CaseOwner.resolve).
    public func owner(tier: String?, planCoordinator: String?) -> String {
        CaseOwner.resolve(
            tier: tier, planCoordinator: planCoordinator, byTier: coordinatorsByTier, locationDefault: defaultCoordinatorID, locationID: id)
    }

    public var key: LocationKey { LocationKey(organizationID: organizationID, locationID: id) }
}

/// `organizations` and `locations` (time zone, default coordinator, calendar version). A location is
/// (organization_id, id): every statement names both (migration 0011).
public enum LocationsRepository {
    /// The rows `(organization_id, id)` among the keys `$1` (organizations), `$2` (locations).
    static let amongKeys = "(organization_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"

    /// Creates the organizations and locations not there yet.
    public static func ensure(locations: [LocationKey], on tx: PostgresConnection) async throws {
        let orgs = Array(Set(locations.map(\.organizationID))).sorted()
        // Only ids not already there reach ON CONFLICT: its uniqueness check waits for any
        // transaction updating the existing row, and offer workers update their locations'
        // calendar_version in every batch (measured: ~19 ms a batch spent waiting).
        try await tx.executeLater(
            """
            INSERT INTO organizations (id) SELECT o FROM unnest($1::text[]) AS u(o)
            WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE id = u.o) ON CONFLICT DO NOTHING
            """, orgs)
        let keys = Array(Set(locations)).sorted()
        try await tx.executeLater(
            """
            INSERT INTO locations (organization_id, id) SELECT o, l FROM unnest($1::text[], $2::text[]) AS u(o, l)
            WHERE NOT EXISTS (SELECT 1 FROM locations WHERE organization_id = u.o AND id = u.l) ON CONFLICT DO NOTHING
            """, keys.map(\.organizationID), keys.map(\.locationID))
    }

    /// Creates one organization and location if missing.
    public static func ensure(_ location: LocationKey, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("INSERT INTO organizations (id) VALUES ($1) ON CONFLICT DO NOTHING", location.organizationID)
        _ = try await tx.execute(
            "INSERT INTO locations (organization_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING", location.organizationID,
            location.locationID)
    }

    public static func setTimeZone(_ zone: String, location: LocationKey, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            "UPDATE locations SET time_zone = $3 WHERE organization_id = $1 AND id = $2 AND time_zone <> $3", location.organizationID,
            location.locationID, zone)
    }

    /// Records that the location's schedule mirror was refreshed (a schedule.changed applied) at `now`.
    public static func markScheduleSynced(_ location: LocationKey, now: Date, on tx: PostgresConnection) async throws {
        _ = try await tx.execute(
            """
            UPDATE locations SET schedule_synced_at = $3
            WHERE organization_id = $1 AND id = $2 AND (schedule_synced_at IS NULL OR schedule_synced_at < $3)
            """, location.organizationID, location.locationID, now)
    }

    /// Locations whose schedule mirror was last refreshed before `cutoff` (never-synced ones are not stale), by key.
    public static func staleCalendars(
        syncedBefore cutoff: Date, on conn: PostgresConnection
    ) async throws
        -> [(key: LocationKey, syncedAt: Date)]
    {
        try await conn.query(
            "SELECT organization_id, id, schedule_synced_at FROM locations WHERE schedule_synced_at < $1 ORDER BY organization_id, id",
            cutoff
        ).map {
            (
                LocationKey(organizationID: try $0.decode(0, as: String.self), locationID: try $0.decode(1, as: String.self)),
                try $0.decode(2, as: Date.self)
            )
        }
    }

    /// Marks the locations' calendars changed, so offer workers reload them.
    public static func bumpCalendars(_ locations: [LocationKey], on tx: PostgresConnection) async throws {
        guard !locations.isEmpty else { return }
        let keys = Array(Set(locations)).sorted()
        try await tx.executeLater(
            "UPDATE locations SET calendar_version = calendar_version + 1 WHERE \(amongKeys)", keys.map(\.organizationID),
            keys.map(\.locationID))
    }

    /// A jsonb object of strings (coordinators_by_tier) as a dictionary.
    static func stringMap(_ json: String) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in (try? JSONParser.parse(json))?.objectValue ?? [:] { out[key] = value.stringValue }
        return out
    }

    public static func infos(_ locations: [LocationKey], on tx: PostgresConnection) async throws -> [LocationKey: LocationInfo] {
        let keys = Array(Set(locations)).sorted()
        let rows = try await tx.query(
            """
            SELECT organization_id, id, name, time_zone, time_increment_minutes, default_coordinator_id, calendar_version,
                   coordinators_by_tier::text, quiet_start_minute, quiet_end_minute, schedule_synced_at
            FROM locations WHERE \(amongKeys)
            """, keys.map(\.organizationID), keys.map(\.locationID))
        var out: [LocationKey: LocationInfo] = [:]
        for r in rows {
            var info = LocationInfo(
                organizationID: try r.decode(0, as: String.self), id: try r.decode(1, as: String.self),
                name: try r.decode(2, as: String.self),
                timeZone: TimeZone(identifier: try r.decode(3, as: String.self)) ?? TimeZone(identifier: "UTC")!,
                incrementMinutes: try r.decode(4, as: Int.self), defaultCoordinatorID: try r.decode(5, as: String?.self),
                calendarVersion: try r.decode(6, as: Int64.self),
                coordinatorsByTier: Self.stringMap(try r.decode(7, as: String.self)),
                quietHours: try r.decode(8, as: Int?.self).flatMap { start in
                    try r.decode(9, as: Int?.self).map { RoutingRules.QuietHours(startMinute: start, endMinute: $0) }
                })
            info.scheduleSyncedAt = try r.decode(10, as: Date?.self)
            out[info.key] = info
        }
        return out
    }
}
