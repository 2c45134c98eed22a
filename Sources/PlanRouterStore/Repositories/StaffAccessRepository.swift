import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// A staff API key as listed (never its secret: only the hash is stored).
public struct StaffKeyRow: Sendable, Hashable {
    public var id: UUID
    public var organizationID: String
    public var name: String
    public var role: StaffRole
    public var locations: [String]?
    public var createdAt: Date
    public var revokedAt: Date?
}

/// A local staff account, as sign-in needs it.
public struct StaffUserRow: Sendable {
    public var id: UUID
    public var organizationID: String
    public var displayName: String
    public var role: StaffRole
    public var locations: [String]?
    public var passwordBcrypt: String
}

/// A live browser session and the principal behind it.
public struct StaffSessionRow: Sendable {
    public var principal: StaffPrincipal
    public var displayName: String
    public var csrfToken: String
    public var expiresAt: Date
}

/// `staff_api_keys`, `staff_users`, `staff_sessions`: the staff surface's credentials.
public enum StaffAccessRepository {
    // MARK: API keys

    public static func insertKey(
        organizationID: String, name: String, role: StaffRole, locations: [String]?, secretSHA256: [UInt8], now: Date,
        on conn: PostgresConnection
    ) async throws -> UUID {
        let rows = try await conn.query(
            """
            INSERT INTO staff_api_keys (organization_id, name, role, locations, secret_sha256, created_at)
            VALUES ($1, $2, $3, $4::text[], $5, $6) RETURNING id
            """, binds: [organizationID, name, role.rawValue, locations, secretSHA256, now])
        return try rows[0].decode(0, as: UUID.self)
    }

    /// The organization's keys (all organizations' when nil), oldest first.
    public static func keys(organizationID: String?, on conn: PostgresConnection) async throws -> [StaffKeyRow] {
        try await conn.query(
            """
            SELECT id, organization_id, name, role, locations, created_at, revoked_at FROM staff_api_keys
            WHERE $1::text IS NULL OR organization_id = $1 ORDER BY created_at, id
            """, binds: [organizationID]
        ).map { r in
            StaffKeyRow(
                id: try r.decode(0, as: UUID.self), organizationID: try r.decode(1, as: String.self),
                name: try r.decode(2, as: String.self),
                role: try role(r.decode(3, as: String.self)), locations: try r.decode(4, as: [String]?.self),
                createdAt: try r.decode(5, as: Date.self), revokedAt: try r.decode(6, as: Date?.self))
        }
    }

    /// Revokes a key of the organization; false when there is no such live key.
    public static func revokeKey(_ id: UUID, organizationID: String, now: Date, on conn: PostgresConnection) async throws -> Bool {
        try await conn.execute(
            "UPDATE staff_api_keys SET revoked_at = $3 WHERE id = $1 AND organization_id = $2 AND revoked_at IS NULL",
            binds: [id, organizationID, now]) == 1
    }

    /// The principal of a live key with this secret hash.
    public static func principal(keySHA256: [UInt8], on conn: PostgresConnection) async throws -> StaffPrincipal? {
        let rows = try await conn.query(
            "SELECT id, organization_id, role, locations FROM staff_api_keys WHERE secret_sha256 = $1 AND revoked_at IS NULL", keySHA256)
        guard let r = rows.first else { return nil }
        return StaffPrincipal(
            kind: .apiKey, id: try r.decode(0, as: UUID.self).uuidString.lowercased(), organizationID: try r.decode(1, as: String.self),
            role: try role(r.decode(2, as: String.self)), locations: try r.decode(3, as: [String]?.self).map(Set.init))
    }

    // MARK: Users

    public static func insertUser(
        organizationID: String, login: String, displayName: String, role: StaffRole, locations: [String]?, passwordBcrypt: String,
        now: Date, on conn: PostgresConnection
    ) async throws -> UUID {
        let rows = try await conn.query(
            """
            INSERT INTO staff_users (organization_id, login, display_name, role, locations, password_bcrypt, created_at)
            VALUES ($1, $2, $3, $4, $5::text[], $6, $7) RETURNING id
            """, binds: [organizationID, login, displayName, role.rawValue, locations, passwordBcrypt, now])
        return try rows[0].decode(0, as: UUID.self)
    }

    /// The enabled account with this sign-in name (case-insensitive).
    public static func user(login: String, on conn: PostgresConnection) async throws -> StaffUserRow? {
        let rows = try await conn.query(
            """
            SELECT id, organization_id, display_name, role, locations, password_bcrypt FROM staff_users
            WHERE lower(login) = lower($1) AND disabled_at IS NULL
            """, login)
        guard let r = rows.first else { return nil }
        return StaffUserRow(
            id: try r.decode(0, as: UUID.self), organizationID: try r.decode(1, as: String.self),
            displayName: try r.decode(2, as: String.self),
            role: try role(r.decode(3, as: String.self)), locations: try r.decode(4, as: [String]?.self),
            passwordBcrypt: try r.decode(5, as: String.self))
    }

    // MARK: Sessions

    public static func insertSession(
        secretSHA256: [UInt8], user: StaffUserRow, csrfToken: String, now: Date, expiresAt: Date, on conn: PostgresConnection
    ) async throws {
        _ = try await conn.execute(
            """
            INSERT INTO staff_sessions (secret_sha256, organization_id, user_id, csrf_token, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, binds: [secretSHA256, user.organizationID, user.id, csrfToken, now, expiresAt])
    }

    /// The unexpired session with this secret hash, of an enabled account.
    public static func session(secretSHA256: [UInt8], now: Date, on conn: PostgresConnection) async throws -> StaffSessionRow? {
        let rows = try await conn.query(
            """
            SELECT u.id, s.organization_id, u.role, u.locations, u.display_name, s.csrf_token, s.expires_at
            FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id AND u.organization_id = s.organization_id
            WHERE s.secret_sha256 = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL
            """, binds: [secretSHA256, now])
        guard let r = rows.first else { return nil }
        return StaffSessionRow(
            principal: StaffPrincipal(
                kind: .user, id: try r.decode(0, as: UUID.self).uuidString.lowercased(), organizationID: try r.decode(1, as: String.self),
                role: try role(r.decode(2, as: String.self)), locations: try r.decode(3, as: [String]?.self).map(Set.init)),
            displayName: try r.decode(4, as: String.self), csrfToken: try r.decode(5, as: String.self),
            expiresAt: try r.decode(6, as: Date.self))
    }

    /// Ends a session (sign-out) and drops every expired one.
    public static func endSession(secretSHA256: [UInt8], now: Date, on conn: PostgresConnection) async throws {
        _ = try await conn.execute("DELETE FROM staff_sessions WHERE secret_sha256 = $1 OR expires_at <= $2", binds: [secretSHA256, now])
    }

    static func role(_ text: String) throws -> StaffRole {
        guard let role = StaffRole(rawValue: text) else { throw StaffAccessRowError(description: "unknown staff role in the database") }
        return role
    }
}

struct StaffAccessRowError: Error, CustomStringConvertible {
    var description: String
}
