import Foundation
import HummingbirdBcrypt
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// A key just created: its id and the secret, which is shown this once and never stored.
public struct CreatedStaffKey: Sendable {
    public var id: UUID
    public var secret: StaffSecret
}

/// Credentials management for the CLI (`planrouter staff …`): keys and local accounts.
public enum StaffAdministration {
    public static func addKey(
        organizationID: String, role: StaffRole, locations: [String]?, name: String, now: Date, on conn: PostgresConnection
    ) async throws -> CreatedStaffKey {
        let secret = StaffSecret.generate(.apiKey)
        let id = try await StaffAccessRepository.insertKey(
            organizationID: organizationID, name: name, role: role, locations: locations, secretSHA256: secret.sha256, now: now, on: conn)
        return CreatedStaffKey(id: id, secret: secret)
    }

    public static func listKeys(organizationID: String?, on conn: PostgresConnection) async throws -> [StaffKeyRow] {
        try await StaffAccessRepository.keys(organizationID: organizationID, on: conn)
    }

    public static func revokeKey(_ id: UUID, organizationID: String, now: Date, on conn: PostgresConnection) async throws -> Bool {
        try await StaffAccessRepository.revokeKey(id, organizationID: organizationID, now: now, on: conn)
    }

    /// Creates a local account; the password is stored as a bcrypt hash of `cost`.
    public static func addUser(
        organizationID: String, login: String, displayName: String, role: StaffRole, locations: [String]?, password: String,
        cost: UInt8 = 12, now: Date, on conn: PostgresConnection
    ) async throws -> UUID {
        try await StaffAccessRepository.insertUser(
            organizationID: organizationID, login: login, displayName: displayName, role: role, locations: locations,
            passwordBcrypt: Bcrypt.hash(password, cost: cost), now: now, on: conn)
    }
}
