/// A staff member's role, scoped to one organization (and optionally to some of its locations).
public enum StaffRole: String, Sendable, CaseIterable, Hashable {
    /// Works the task queue of their locations.
    case coordinator
    /// A coordinator who also answers for a location's figures and its people's actions.
    case locationManager = "location_manager"
    /// Everything in the organization, including its credentials and the audit record.
    case orgAdmin = "org_admin"

    /// Whether the role may perform `action` (the organization and location checks come on top).
    public func allows(_ action: StaffAction) -> Bool {
        switch action {
        case .listTasks, .resolveTask: true
        case .readAudit: self == .locationManager || self == .orgAdmin
        case .manageAccess: self == .orgAdmin
        }
    }
}

/// What a staff request asks to do; each endpoint names exactly one.
public enum StaffAction: String, Sendable, CaseIterable, Hashable {
    case listTasks = "list_tasks"
    case resolveTask = "resolve_task"
    case readAudit = "read_audit"
    case manageAccess = "manage_access"
}

/// Who is asking: a credential resolved to its organization, role and locations.
public struct StaffPrincipal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case apiKey = "key"
        case user
        /// A bearer token from the organization's identity provider (OIDC); the id is its `sub`.
        case identityProvider = "oidc"
    }

    public var kind: Kind
    /// The key's or user's id (never a secret): the audit record's `actor` is `kind:id`.
    public var id: String
    public var organizationID: String
    public var role: StaffRole
    /// nil: every location of the organization.
    public var locations: Set<String>?

    public init(kind: Kind, id: String, organizationID: String, role: StaffRole, locations: Set<String>?) {
        self.kind = kind
        self.id = id
        self.organizationID = organizationID
        self.role = role
        self.locations = locations
    }

    public var actor: String { "\(kind.rawValue):\(id)" }

    /// Whether a row of `organization` at `location` is visible to this principal at all: when it
    /// is not, the answer is "not found", never "forbidden", so its existence is not revealed.
    public func sees(organization: String, location: String) -> Bool {
        organization == organizationID && (locations?.contains(location) ?? true)
    }
}
