/// A location by its identity: PMS location ids are unique only within an organization, so two
/// organizations may both have a 'loc-1' (migration 0011 keys every location-scoped row by both).
public struct LocationKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var organizationID: String
    public var locationID: String

    public init(organizationID: String, locationID: String) {
        self.organizationID = organizationID
        self.locationID = locationID
    }

    public static func < (a: LocationKey, b: LocationKey) -> Bool {
        (a.organizationID, a.locationID) < (b.organizationID, b.locationID)
    }

    public var description: String { "\(organizationID)/\(locationID)" }
}
