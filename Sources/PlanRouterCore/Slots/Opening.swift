/// An open appointment slot: a provider, the operatory it would use (nil when the provider has no
/// operatories on file), and the time.
public struct Opening: Hashable, Sendable {
    public var providerID: String
    public var operatoryID: String?
    public var range: TimeRange

    public init(providerID: String, operatoryID: String?, range: TimeRange) {
        self.providerID = providerID
        self.operatoryID = operatoryID
        self.range = range
    }
}
