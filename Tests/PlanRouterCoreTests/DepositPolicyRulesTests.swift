import PlanRouterCore
import Testing

@Suite struct DepositPolicyRulesTests {
    @Test func defaultPoliciesPerTier() {
        let r = RoutingRules.defaults
        #expect(r.tier(named: "surgical")?.deposit.policy == .depositToConfirm)
        #expect(r.tier(named: "aesthetic")?.deposit.policy == .depositToConfirm)
        #expect(r.tier(named: "restorative")?.deposit.policy == .depositAfterBooking)
        #expect(r.tier(named: "surgical")?.deposit.holdSeconds == 7200)
        // add_on takes no deposit, so its policy never applies.
        #expect(r.tier(named: "add_on")?.deposit.fixedCents == 0)
    }

    static func rules(deposit: String) -> String {
        """
        format: planrouter.rules/v1
        default_tier: surgical
        tiers:
          - name: surgical
            match: { ranges: [D6000-D6199] }
            deposit: \(deposit)
            first_offer_sla: 15m
        """
    }

    @Test func aPolicyAndHoldAreReadAndAbsentOnesDefaultToBookingFirst() throws {
        let explicit = try RoutingRules(yaml: Self.rules(deposit: "{ fixed_cents: 5000, policy: deposit_to_confirm, hold: 90m }"))
        #expect(explicit.tier(named: "surgical")?.deposit.policy == .depositToConfirm)
        #expect(explicit.tier(named: "surgical")?.deposit.holdSeconds == 5400)
        let implicit = try RoutingRules(yaml: Self.rules(deposit: "{ fixed_cents: 5000 }"))
        #expect(implicit.tier(named: "surgical")?.deposit.policy == .depositAfterBooking)
        #expect(implicit.tier(named: "surgical")?.deposit.holdSeconds == 7200)
    }

    @Test func anUnknownPolicyOrAHoldOutsideStripesSessionWindowIsAnErrorAtItsPath() {
        for (deposit, path) in [
            ("{ fixed_cents: 5000, policy: pay_later }", "tiers[0].deposit.policy"),
            ("{ fixed_cents: 5000, hold: 10m }", "tiers[0].deposit.hold"),
            ("{ fixed_cents: 5000, hold: 2d }", "tiers[0].deposit.hold"),
        ] {
            do {
                _ = try RoutingRules(yaml: Self.rules(deposit: deposit))
                Issue.record("expected an error for \(deposit)")
            } catch let e as RulesValidationError {
                #expect(e.errors.map(\.path).contains(path))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }
}
