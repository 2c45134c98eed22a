import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// `locations.yaml` in PostgreSQL: every changed load is the organization's next version, and its
/// values are written onto `organizations` and `locations` in the same transaction, so the workers
/// and the booking service read them where they already read locations.
public enum LocationDirectoryRepository {
    public struct LoadResult: Sendable, Equatable {
        public var version: Int
        /// False when the same file was already the current version (nothing written).
        public var created: Bool
        /// Locations the organization has (from events) that the file does not list: left as they are.
        public var unlisted: [String]

        public init(version: Int, created: Bool, unlisted: [String]) {
            self.version = version
            self.created = created
            self.unlisted = unlisted
        }
    }

    /// Validates the file and stores it as its organization's next version (unless unchanged).
    public static func load(yaml: String, now: Date, on conn: PostgresConnection) async throws -> LoadResult {
        let directory = try LocationDirectory(yaml: yaml)  // throws RulesValidationError listing every problem
        let org = directory.organizationID
        let checksum = Migrator.checksum(yaml)
        return try await conn.transaction { tx in
            // One load of an organization at a time, so versions never collide.
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtext('planrouter.locations.' || $1))", org)
            let current = try await tx.query(
                "SELECT version, checksum FROM location_directories WHERE organization_id = $1 ORDER BY version DESC LIMIT 1", org)
            let listed = directory.locations.map(\.id)
            let unlisted = try await tx.query(
                "SELECT id FROM locations WHERE organization_id = $1 AND NOT (id = ANY($2::text[])) ORDER BY id", org, listed
            ).map { try $0.decode(0, as: String.self) }
            if let row = current.first, try row.decode(1, as: String.self) == checksum {
                return LoadResult(version: try row.decode(0, as: Int.self), created: false, unlisted: unlisted)
            }
            let version = (try current.first?.decode(0, as: Int.self) ?? 0) + 1
            _ = try await tx.execute(
                "INSERT INTO location_directories (organization_id, version, source_yaml, checksum, loaded_at) VALUES ($1, $2, $3, $4, $5)",
                org, version, yaml, checksum, now)
            _ = try await tx.execute(
                """
                INSERT INTO organizations (id, name, same_day_target_pct) VALUES ($1, $2, $3)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, same_day_target_pct = excluded.same_day_target_pct
                """, org, directory.organizationName, directory.sameDayTargetPercent)
            let l = directory.locations
            let byTier: [String] = l.map {
                JSONValue.object(JSONObject($0.coordinatorsByTier.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))
                    .serialized()
            }
            let quietStart: [Int?] = l.map { $0.quietHours?.startMinute }
            let quietEnd: [Int?] = l.map { $0.quietHours?.endMinute }
            let binds: [any PostgresEncodable] = [
                org, l.map(\.id), l.map(\.name), l.map(\.address), l.map(\.phone), l.map(\.defaultCoordinator), byTier, quietStart,
                quietEnd,
                l.map(\.sameDayTargetPercent), version,
            ]
            _ = try await tx.execute(
                """
                INSERT INTO locations (organization_id, id, name, address, phone, default_coordinator_id, coordinators_by_tier,
                                       quiet_start_minute, quiet_end_minute, same_day_target_pct, directory_version)
                SELECT $1, u.id, u.name, u.address, u.phone, u.coordinator, u.by_tier::jsonb, u.quiet_start, u.quiet_end, u.target, $11
                FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::smallint[], $9::smallint[],
                            $10::numeric[]) AS u(id, name, address, phone, coordinator, by_tier, quiet_start, quiet_end, target)
                ON CONFLICT (organization_id, id) DO UPDATE SET
                    name = excluded.name, address = excluded.address, phone = excluded.phone,
                    default_coordinator_id = excluded.default_coordinator_id, coordinators_by_tier = excluded.coordinators_by_tier,
                    quiet_start_minute = excluded.quiet_start_minute, quiet_end_minute = excluded.quiet_end_minute,
                    same_day_target_pct = excluded.same_day_target_pct, directory_version = excluded.directory_version
                """,
                binds: binds)
            // A location without a zone in the file keeps the one the PMS reported (schedule.changed); a new
            // zone moves every opening, so the calendar version changes and cached calendars are rebuilt.
            let zoned = l.filter { $0.timeZone != nil }
            _ = try await tx.execute(
                """
                UPDATE locations SET time_zone = u.zone, calendar_version = calendar_version + 1
                FROM unnest($2::text[], $3::text[]) AS u(id, zone)
                WHERE organization_id = $1 AND locations.id = u.id AND time_zone <> u.zone
                """, org, zoned.map(\.id), zoned.map { $0.timeZone! })
            return LoadResult(version: version, created: true, unlisted: unlisted)
        }
    }

    /// The same-day target (percent) locations.yaml sets for the location, else for its
    /// organization; nil when neither sets one.
    public static func sameDayTarget(organizationID: String, locationID: String?, on conn: PostgresConnection) async throws -> Double? {
        let rows = try await conn.query(
            """
            SELECT coalesce((SELECT same_day_target_pct FROM locations WHERE organization_id = $1 AND id = $2),
                            (SELECT same_day_target_pct FROM organizations WHERE id = $1))::float8
            """, organizationID, locationID)
        return try rows.first?.decode(0, as: Double?.self)
    }
}
