/// What a patient needs booked, and the preferences that limit which openings to offer.
///
/// Who may do the work, in this order (`SlotSearch.search`):
/// 1. `providerRole` is a hard constraint: every opening is with a provider having that role
///    (nil = no role required). `providerID` narrows further to one provider (who still needs the role).
/// 2. `preferredProviderID` (the plan's treating provider) only orders: when it is eligible and
///    has openings, they are offered; otherwise the earliest of every eligible provider.
/// 3. `fallbackRoles` (the tier's `role_fallback`) are tried in order only when no provider with
///    the required role has an opening.
public struct SlotRequest: Sendable {
    /// Only this provider; nil = any provider having `providerRole`.
    public var providerID: String?
    /// The required role; nil = any role (with `providerID` nil too: any provider).
    public var providerRole: String?
    /// Preferred among the eligible providers (the plan's treating provider); never adds a provider.
    public var preferredProviderID: String?
    /// Roles to try, in order, when no provider with `providerRole` has an opening (rules: `role_fallback`).
    public var fallbackRoles: [String]
    public var durationMinutes: Int
    /// No opening starts before this.
    public var earliest: Int64
    /// No opening ends after this (the horizon, or end of today for same-visit).
    public var latest: Int64
    public var count: Int
    /// At most one opening per local calendar day.
    public var spreadOverDays: Bool
    /// Empty = any.
    public var timesOfDay: Set<TimeOfDay>
    /// ISO 1 = Monday ... 7 = Sunday, local; empty = any.
    public var weekdays: Set<Int>
    /// Blockout kinds this request may be booked into (e.g. `["crown_only"]`); `"do_not_schedule"` is never allowed.
    public var allowedBlockoutKinds: Set<String>

    public init(
        providerID: String? = nil, providerRole: String? = nil, preferredProviderID: String? = nil, fallbackRoles: [String] = [],
        durationMinutes: Int, earliest: Int64, latest: Int64, count: Int = 3, spreadOverDays: Bool = true,
        timesOfDay: Set<TimeOfDay> = [], weekdays: Set<Int> = [], allowedBlockoutKinds: Set<String> = []
    ) {
        self.providerID = providerID
        self.providerRole = providerRole
        self.preferredProviderID = preferredProviderID
        self.fallbackRoles = fallbackRoles
        self.durationMinutes = durationMinutes
        self.earliest = earliest
        self.latest = latest
        self.count = count
        self.spreadOverDays = spreadOverDays
        self.timesOfDay = timesOfDay
        self.weekdays = weekdays
        self.allowedBlockoutKinds = allowedBlockoutKinds
    }
}
