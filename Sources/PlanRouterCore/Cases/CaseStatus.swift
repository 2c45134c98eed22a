/// The status of a case (`plans.status`), and the only transitions allowed between them.
///
/// The table below is the whole state machine; `PlansRepository` (PlanRouterStore) is
/// the only code that writes `plans.status`, and every write it makes is restricted
/// in SQL to rows whose current status is an allowed predecessor of the new one.
///
/// | from \ to  | accepted | offered | escalated | booked | declined | cancelled | revoked |
/// |------------|----------|---------|-----------|--------|----------|-----------|---------|
/// | (none)     | new plan |         |           |        |          |           |         |
/// | accepted   | yes (1)  | yes     | yes (2)   | yes    | yes      | yes       | yes     |
/// | offered    | yes (1)  |         | yes (3)   | yes    | yes      | yes       | yes     |
/// | escalated  | yes (1)  |         |           | yes    | yes      | yes       | yes     |
/// | booked     | yes (1)  |         | yes (4)   |        |          |           |         |
/// | declined   | yes (1)  |         |           |        |          |           |         |
/// | cancelled  | yes (1)  |         |           |        |          |           |         |
/// | revoked    | yes (1)  |         |           |        |          |           |         |
///
/// 1. A newer acceptance (or a modified plan) starts the case over, whatever it was.
/// 2. A callback case, or one without any opening: its first contact is a coordinator task.
/// 3. The ladder's last step: a coordinator task.
/// 4. The booked appointment was cancelled in the PMS: the case goes back to a coordinator.
///
/// Booked, declined, cancelled and revoked close the case (the PMS, a booking link
/// or a coordinator); only open cases (accepted, offered, escalated) can be closed.
public enum CaseStatus: String, Sendable, Hashable, CaseIterable {
    case accepted
    case offered
    case escalated
    case booked
    case declined
    case cancelled
    case revoked

    /// Cases still waiting for a booking or a decision.
    public static let open: Set<CaseStatus> = [.accepted, .offered, .escalated]

    /// Statuses that close a case.
    public static let closing: Set<CaseStatus> = [.booked, .declined, .cancelled, .revoked]

    public var isOpen: Bool { Self.open.contains(self) }

    /// The statuses a case may move to from this one.
    public var successors: Set<CaseStatus> {
        switch self {
        case .accepted: [.accepted, .offered, .escalated, .booked, .declined, .cancelled, .revoked]
        case .offered: [.accepted, .escalated, .booked, .declined, .cancelled, .revoked]
        case .escalated: [.accepted, .booked, .declined, .cancelled, .revoked]
        case .booked: [.accepted, .escalated]
        case .declined, .cancelled, .revoked: [.accepted]
        }
    }

    /// The statuses a case may reach `status` from.
    public static func predecessors(of status: CaseStatus) -> Set<CaseStatus> {
        Set(allCases.filter { $0.successors.contains(status) })
    }

    public static func canTransition(from: CaseStatus, to: CaseStatus) -> Bool {
        from.successors.contains(to)
    }

    /// `to` when the table allows it; throws `CaseTransitionError` otherwise.
    @discardableResult
    public func transition(to next: CaseStatus) throws -> CaseStatus {
        guard Self.canTransition(from: self, to: next) else { throw CaseTransitionError(from: self, to: next) }
        return next
    }
}

/// A status change the state machine does not allow, or one the database did not make
/// where the code expected it to be legal.
public struct CaseTransitionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var from: CaseStatus?
    public var to: CaseStatus

    public init(from: CaseStatus?, to: CaseStatus) {
        self.from = from
        self.to = to
    }

    public var description: String {
        "case status cannot change from \(from?.rawValue ?? "its current status") to \(to.rawValue)"
    }
}
