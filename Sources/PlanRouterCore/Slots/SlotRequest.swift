/// What a patient needs booked, and the preferences that limit which openings to offer.
public struct SlotRequest: Sendable {
    /// The required provider; nil = any provider having `providerRole`.
    public var providerID: String?
    /// Used when `providerID` is nil; nil and nil = any provider.
    public var providerRole: String?
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
        providerID: String? = nil, providerRole: String? = nil, durationMinutes: Int, earliest: Int64, latest: Int64,
        count: Int = 3, spreadOverDays: Bool = true, timesOfDay: Set<TimeOfDay> = [], weekdays: Set<Int> = [],
        allowedBlockoutKinds: Set<String> = []
    ) {
        self.providerID = providerID
        self.providerRole = providerRole
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
