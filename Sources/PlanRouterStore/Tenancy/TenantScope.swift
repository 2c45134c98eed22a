/// Which organizations' rows a connection or transaction may see through row-level security
/// (migration 0011, docs/postgres.md "Tenancy"). Unset, it sees none.
public enum TenantScope: Sendable, Hashable {
    /// One organization: the booking pages and API, per request.
    case organization(String)
    /// Every organization: the system workers, whose batches mix organizations and whose every
    /// statement names the organization itself (composite keys are the first wall), and the CLI's
    /// platform commands (report, availability import, outbox, dlq).
    case allOrganizations

    /// The setting the policies read.
    public static let setting = "planrouter.organization"
    /// The value that opens every organization to a system path.
    public static let everyOrganization = "*"

    public var value: String {
        switch self {
        case .organization(let id): id
        case .allOrganizations: Self.everyOrganization
        }
    }

    /// Session parameters for `PostgresPool(settings:)` / `PostgresConnection.connect(settings:)`.
    public var sessionSettings: [String: String] { [Self.setting: value] }
}
