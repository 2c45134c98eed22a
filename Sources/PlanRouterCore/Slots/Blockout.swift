/// A stretch of time the practice keeps free of ordinary bookings.
public struct Blockout: Hashable, Sendable {
    /// The kind that forbids everything, whatever the request allows.
    public static let doNotSchedule = "do_not_schedule"

    public var range: TimeRange
    /// `"do_not_schedule"` forbids everything; any other kind (e.g. `"crown_only"`) forbids slots
    /// unless the request allows that kind.
    public var kind: String
    /// nil = applies to every provider of the location.
    public var providerID: String?
    /// Non-empty = only these operatories are blocked (the provider may use others);
    /// empty = the provider(s) are blocked.
    public var operatoryIDs: [String]

    public init(range: TimeRange, kind: String = Blockout.doNotSchedule, providerID: String? = nil, operatoryIDs: [String] = []) {
        self.range = range
        self.kind = kind
        self.providerID = providerID
        self.operatoryIDs = operatoryIDs
    }
}
