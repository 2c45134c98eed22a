import PlanRouterCore
import Testing

@Suite struct CaseStatusTests {
    /// The table written down in CaseStatus, as pairs; every pair not listed is refused.
    static let allowed: Set<[CaseStatus]> = [
        [.accepted, .accepted], [.accepted, .offered], [.accepted, .escalated], [.accepted, .booked], [.accepted, .declined],
        [.accepted, .cancelled], [.accepted, .revoked],
        [.offered, .accepted], [.offered, .escalated], [.offered, .booked], [.offered, .declined], [.offered, .cancelled],
        [.offered, .revoked],
        [.escalated, .accepted], [.escalated, .booked], [.escalated, .declined], [.escalated, .cancelled], [.escalated, .revoked],
        [.booked, .accepted], [.booked, .escalated],
        [.declined, .accepted], [.cancelled, .accepted], [.revoked, .accepted],
    ]

    @Test func everyPairFollowsTheTable() throws {
        for from in CaseStatus.allCases {
            for to in CaseStatus.allCases {
                let expected = Self.allowed.contains([from, to])
                #expect(CaseStatus.canTransition(from: from, to: to) == expected, "\(from) -> \(to)")
                if expected {
                    #expect(try from.transition(to: to) == to)
                } else {
                    #expect(throws: CaseTransitionError(from: from, to: to)) { try from.transition(to: to) }
                }
            }
        }
    }

    @Test func disallowedTransitionsThrow() {
        #expect(throws: CaseTransitionError.self) { try CaseStatus.booked.transition(to: .offered) }
        #expect(throws: CaseTransitionError.self) { try CaseStatus.declined.transition(to: .booked) }
        #expect(throws: CaseTransitionError.self) { try CaseStatus.escalated.transition(to: .offered) }
        #expect(throws: CaseTransitionError.self) { try CaseStatus.cancelled.transition(to: .escalated) }
    }

    @Test func predecessorsAreTheTableReadBackwards() {
        #expect(CaseStatus.predecessors(of: .offered) == [.accepted])
        #expect(CaseStatus.predecessors(of: .escalated) == [.accepted, .offered, .booked])
        #expect(CaseStatus.predecessors(of: .booked) == CaseStatus.open)
        #expect(CaseStatus.predecessors(of: .declined) == CaseStatus.open)
        #expect(CaseStatus.predecessors(of: .accepted) == Set(CaseStatus.allCases))
    }

    @Test func onlyOpenCasesClose() {
        for closing in CaseStatus.closing {
            for from in CaseStatus.allCases {
                #expect(CaseStatus.canTransition(from: from, to: closing) == from.isOpen, "\(from) -> \(closing)")
            }
        }
    }

    @Test func statusesMatchTheMigrationsCheckConstraint() {
        // 0002_plans.sql: CHECK (status IN ('accepted', 'offered', 'booked', 'declined', 'cancelled', 'revoked', 'escalated'))
        #expect(
            Set(CaseStatus.allCases.map(\.rawValue)) == ["accepted", "offered", "booked", "declined", "cancelled", "revoked", "escalated"])
    }
}
