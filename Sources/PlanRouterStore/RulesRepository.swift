import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Versioned routing rules in PostgreSQL. Each load of an organization's YAML file
/// becomes a new version; classifications record the version they used.
public enum RulesRepository {
    /// The organization id whose rules apply to organizations without their own.
    public static let fallbackOrganization = "*"

    /// Validates and stores the file as the organization's next version; returns the version.
    /// Loading an unchanged file again returns the current version without a new row.
    public static func load(
        yaml: String, organization: String, on conn: PostgresConnection, now: Date
    ) async throws -> (version: Int, created: Bool) {
        _ = try RoutingRules(yaml: yaml)  // throws RulesValidationError listing every problem
        let checksum = checksumOf(yaml)
        return try await conn.transaction { tx in
            // Serialise loads of one organization so versions never collide.
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtext('planrouter.rules.' || $1))", organization)
            let current = try await tx.query(
                "SELECT version, checksum FROM routing_rules WHERE organization_id = $1 ORDER BY version DESC LIMIT 1", organization)
            if let row = current.first {
                let v = try row.decode(0, as: Int.self)
                if try row.decode(1, as: String.self) == checksum { return (v, false) }
                try await insert(tx, organization, v + 1, yaml, checksum, now)
                return (v + 1, true)
            }
            try await insert(tx, organization, 1, yaml, checksum, now)
            return (1, true)
        }
    }

    private static func insert(
        _ tx: PostgresConnection, _ org: String, _ version: Int, _ yaml: String, _ sum: String, _ now: Date
    ) async throws {
        _ = try await tx.execute(
            "INSERT INTO routing_rules (organization_id, version, source_yaml, checksum, loaded_at) VALUES ($1, $2, $3, $4, $5)",
            org, version, yaml, sum, now)
    }

    /// The latest version of every organization's rules.
    public static func latest(on conn: PostgresConnection) async throws -> [String: (version: Int, rules: RoutingRules)] {
        var out: [String: (version: Int, rules: RoutingRules)] = [:]
        let rows = try await conn.query(
            "SELECT DISTINCT ON (organization_id) organization_id, version, source_yaml FROM routing_rules ORDER BY organization_id, version DESC"
        )
        for row in rows {
            let org = try row.decode(0, as: String.self)
            out[org] = (try row.decode(1, as: Int.self), try RoutingRules(yaml: try row.decode(2, as: String.self)))
        }
        return out
    }

    /// The version in force for one organization: its own latest, else the fallback's, as (organization row, version,
    /// YAML); nil when neither has rules (the shipped defaults apply).
    public static func inForce(
        for organization: String, on conn: PostgresConnection
    ) async throws -> (organization: String, version: Int, yaml: String)? {
        let rows = try await conn.query(
            """
            SELECT organization_id, version, source_yaml FROM routing_rules WHERE organization_id IN ($1, $2)
            ORDER BY organization_id = $1 DESC, version DESC LIMIT 1
            """, organization, fallbackOrganization)
        guard let r = rows.first else { return nil }
        return (try r.decode(0, as: String.self), try r.decode(1, as: Int.self), try r.decode(2, as: String.self))
    }

    /// A fingerprint of the versions in force, cheap to poll.
    public static func fingerprint(on conn: PostgresConnection) async throws -> String {
        let rows = try await conn.query(
            "SELECT coalesce(string_agg(organization_id || ':' || version, ',' ORDER BY organization_id), '') FROM (SELECT organization_id, max(version) AS version FROM routing_rules GROUP BY 1) v"
        )
        return try rows.first?.decode(0, as: String.self) ?? ""
    }

    static func checksumOf(_ s: String) -> String { Migrator.checksum(s) }
}
