/// A stretch of time when a provider works.
public struct ScheduleBlock: Hashable, Sendable {
    public var range: TimeRange
    /// The operatories the provider may use in this block; empty = any of the provider's operatories.
    public var operatoryIDs: [String]

    public init(range: TimeRange, operatoryIDs: [String] = []) {
        self.range = range
        self.operatoryIDs = operatoryIDs
    }
}
