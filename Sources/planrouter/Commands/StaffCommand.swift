import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStaff
import PlanRouterStore

struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff", abstract: "Manage staff credentials: per-organization API keys and local sign-in accounts.",
        discussion: """
            Roles: coordinator (works tasks), location_manager (also reads the audit record), org_admin (everything).
            --locations limits a credential to those locations of its organization; without it, all of them.
            """,
        subcommands: [AddKey.self, ListKeys.self, RevokeKey.self, AddUser.self])

    struct Scope: ParsableArguments {
        @Option(help: "The organization the credential belongs to. Env: PLANROUTER_ORGANIZATION.") var org: String?
        @Option(help: "coordinator, location_manager or org_admin.") var role: String
        @Option(help: "Comma-separated location ids the credential is limited to (default: every location).") var locations: String?

        func resolved() throws -> (org: String, role: StaffRole, locations: [String]?) {
            guard let org = org ?? Environment.value("PLANROUTER_ORGANIZATION"), !org.isEmpty else { throw CLIError("give --org") }
            guard let role = StaffRole(rawValue: role) else {
                throw CLIError("--role must be one of \(StaffRole.allCases.map(\.rawValue).joined(separator: ", ")), not \(role)")
            }
            let list = locations.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            if let list, list.isEmpty { throw CLIError("--locations names no location") }
            return (org, role, list)
        }
    }

    struct AddKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key", abstract: "Create an API key; prints it once (only its SHA-256 is stored).")
        @OptionGroup var scope: Scope
        @Option(help: "A label for the key (who or what uses it).") var name: String = "api key"
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let s = try scope.resolved()
                let created = try await withConnection(database, log) { conn in
                    try await StaffAdministration.addKey(
                        organizationID: s.org, role: s.role, locations: s.locations, name: name, now: WallClock().now(), on: conn)
                }
                print("key id: \(created.id.uuidString.lowercased())")
                print("key:    \(created.secret.text)")
                print("Store the key now: it cannot be shown again. Send it as `Authorization: Bearer <key>` to the staff port.")
            }
        }
    }

    struct ListKeys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list-keys", abstract: "List API keys (never their secrets).")
        @Option(help: "Only this organization's keys.") var org: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let keys = try await withConnection(database, log) { try await StaffAdministration.listKeys(organizationID: org, on: $0) }
                print(["id", "organization", "role", "locations", "created", "revoked", "name"].joined(separator: "\t"))
                for k in keys {
                    print(
                        [
                            k.id.uuidString.lowercased(), k.organizationID, k.role.rawValue, k.locations?.joined(separator: ",") ?? "*",
                            RFC3339.format(k.createdAt), k.revokedAt.map(RFC3339.format) ?? "-", k.name,
                        ].joined(separator: "\t"))
                }
            }
        }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-key", abstract: "Revoke an API key at once.")
        @Option(help: "The key's organization. Env: PLANROUTER_ORGANIZATION.") var org: String?
        @Argument(help: "The key id (from add-key or list-keys).") var id: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                guard let org = org ?? Environment.value("PLANROUTER_ORGANIZATION") else { throw CLIError("give --org") }
                guard let uuid = UUID(uuidString: id) else { throw CLIError("\(id) is not a key id") }
                let revoked = try await withConnection(database, log) {
                    try await StaffAdministration.revokeKey(uuid, organizationID: org, now: WallClock().now(), on: $0)
                }
                guard revoked else { throw CLIError("no live key \(id) in organization \(org)") }
                print("revoked \(id)")
            }
        }
    }

    struct AddUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user", abstract: "Create a local account for browser sign-in (password stored as a bcrypt hash).",
            discussion: "The password is read from standard input (one line) or PLANROUTER_STAFF_PASSWORD, never from an option.")
        @OptionGroup var scope: Scope
        @Option(help: "The sign-in name (unique across organizations).") var login: String
        @Option(help: "The name shown in the workspace (default: the sign-in name).") var name: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let s = try scope.resolved()
                guard let password = Environment.value("PLANROUTER_STAFF_PASSWORD") ?? readLine(strippingNewline: true),
                    password.count >= 10
                else { throw CLIError("give a password of at least 10 characters on standard input or in PLANROUTER_STAFF_PASSWORD") }
                let id = try await withConnection(database, log) { conn in
                    try await StaffAdministration.addUser(
                        organizationID: s.org, login: login, displayName: name ?? login, role: s.role, locations: s.locations,
                        password: password, now: WallClock().now(), on: conn)
                }
                print("user id: \(id.uuidString.lowercased())")
            }
        }
    }
}

/// One connection for a short administrative command.
private func withConnection<T>(
    _ database: DatabaseOptions, _ log: LogOptions, _ body: (PostgresConnection) async throws -> T
) async throws -> T {
    let logger = try log.makeLogger("planrouter.staff", defaultLevel: .error)
    // A platform command: it names the organization in every statement (row-level security '*').
    let conn = try await PostgresConnection.connect(
        try database.resolved(), settings: TenantScope.allOrganizations.sessionSettings, logger: logger)
    defer { conn.close() }
    return try await body(conn)
}
