import PlanRouterCore
import Testing

@Suite struct RulesTests {
    @Test func defaultsMatchDesignTable() {
        let r = RoutingRules.defaults
        #expect(r.tiers.map(\.name) == ["surgical", "restorative", "aesthetic", "add_on"])
        #expect(r.tier(named: "surgical")?.firstOfferSLASeconds == 900)
        #expect(r.tier(named: "add_on")?.deposit == RoutingRules.Deposit.zero)
        #expect(r.tiers.allSatisfy { $0.ladder.last?.action == .coordinatorTask })
    }

    @Test func everyErrorHasItsPath() {
        let yaml = """
            format: planrouter.rules/v1
            default_tier: nowhere
            tiers:
              - name: Surgical
                match: { ranges: [D6000-D5000] }
                deposit: { percent: 140 }
                first_offer_sla: soon
                ladder:
                  - { after: 24h, action: nudge }
                  - { after: 12h, action: call_them }
            quiet_hours: { start: "25:00" }
            """
        do {
            _ = try RoutingRules(yaml: yaml)
            Issue.record("expected errors")
        } catch let e as RulesValidationError {
            let paths = Set(e.errors.map(\.path))
            #expect(
                paths.isSuperset(of: [
                    "tiers[0].name", "tiers[0].match.ranges[0]", "tiers[0].deposit.percent", "tiers[0].first_offer_sla",
                    "tiers[0].ladder[1].action", "quiet_hours.start", "default_tier",
                ]))
            #expect(e.errors.allSatisfy { $0.path == "default_tier" || $0.line != nil })
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func unknownKeysAreReported() {
        #expect(throws: RulesValidationError.self) { try RoutingRules(yaml: RoutingRules.defaultYAML + "\ncolour: blue\n") }
    }
}
