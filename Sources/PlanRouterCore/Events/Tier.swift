/// The name of a tier of the routing rules (`surgical`, `restorative`, …), as events
/// carry it (`plan.classified` `tier`, `payments.deposit-requests` `tier`).
///
/// Not a closed enum: an organization's rules file defines its own tiers; the
/// schemas only require `^[a-z][a-z0-9_-]*$`. `RoutingRules.Tier.name` is the
/// definition a value names.
public struct Tier: RawRepresentable, Sendable, Hashable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ name: String) { rawValue = name }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    public static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }

    // The tiers of the shipped default rules (Sources/PlanRouterCore/DefaultRules/default.yaml).
    public static let surgical: Tier = "surgical"
    public static let restorative: Tier = "restorative"
    public static let aesthetic: Tier = "aesthetic"
    public static let addOn: Tier = "add_on"
}
