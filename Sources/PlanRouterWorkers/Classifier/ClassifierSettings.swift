import PlanRouterCore

/// Settings of the classifier worker.
public struct ClassifierSettings: Sendable {
    /// Acceptance times outside this window around the batch's "now" are dead-lettered.
    public var acceptanceWindow: AcceptanceWindow

    public init(acceptanceWindow: AcceptanceWindow = .standard) {
        self.acceptanceWindow = acceptanceWindow
    }
}
