import Foundation

/// An organization's locations as its operators describe them (`locations.yaml`): the names
/// patients read, the phone they call, who owns which cases, and when texts may go out.
/// Loaded with `planrouter locations load`; versioned like the rules file.
public struct LocationDirectory: Sendable, Hashable {
    public struct Location: Sendable, Hashable {
        public var id: String
        public var name: String
        /// IANA zone; nil keeps the zone the PMS's schedule.changed reports.
        public var timeZone: String?
        public var address: String?
        /// E.164, shown to patients ("call us at …").
        public var phone: String?
        /// Who owns a case when no tier-specific owner is set.
        public var defaultCoordinator: String?
        /// Tier name → owner (the seed's per-tier approvers: a surgical case to the surgical coordinator).
        public var coordinatorsByTier: [String: String]
        /// Overrides the rules file's quiet hours for this location.
        public var quietHours: RoutingRules.QuietHours?
        /// Share of accepted cases to book the same day, in percent; nil inherits the organization's.
        public var sameDayTargetPercent: Double?

        public init(
            id: String, name: String, timeZone: String? = nil, address: String? = nil, phone: String? = nil,
            defaultCoordinator: String? = nil, coordinatorsByTier: [String: String] = [:], quietHours: RoutingRules.QuietHours? = nil,
            sameDayTargetPercent: Double? = nil
        ) {
            self.id = id
            self.name = name
            self.timeZone = timeZone
            self.address = address
            self.phone = phone
            self.defaultCoordinator = defaultCoordinator
            self.coordinatorsByTier = coordinatorsByTier
            self.quietHours = quietHours
            self.sameDayTargetPercent = sameDayTargetPercent
        }
    }

    public var organizationID: String
    public var organizationName: String
    public var sameDayTargetPercent: Double?
    public var locations: [Location]

    public init(organizationID: String, organizationName: String, sameDayTargetPercent: Double? = nil, locations: [Location]) {
        self.organizationID = organizationID
        self.organizationName = organizationName
        self.sameDayTargetPercent = sameDayTargetPercent
        self.locations = locations
    }
}

/// Who owns a case's coordinator task, in the order the configuration documents
/// (docs/configuration.md): the location's owner for the case's tier, then the coordinator the
/// PMS named on the plan, then the location's default, then the location itself.
public enum CaseOwner {
    public static func resolve(
        tier: String?, planCoordinator: String?, byTier: [String: String], locationDefault: String?, locationID: String
    ) -> String {
        tier.flatMap { byTier[$0] } ?? planCoordinator ?? locationDefault ?? "location:\(locationID)"
    }
}
