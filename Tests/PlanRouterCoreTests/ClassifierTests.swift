import Foundation
import PlanRouterCore
import Testing

@Suite struct ClassifierTests {
    func classify(_ data: JSONValue, rules: RoutingRules = .defaults) throws -> Classification {
        #expect(EventValidator.shared.validateData(data, as: .planAccepted) == [])
        return Classifier.classify(try PlanAccepted(data: data), rules: rules, rulesVersion: 0)
    }

    @Test func implantCaseIsSurgical() throws {
        let c = try classify(Fixtures.implant)
        #expect(c.tier == "surgical")
        #expect(c.chairMinutes == 120)  // visit 1: D6010 120 (visit rule); the crown D6065 is visit 2
        #expect(c.valueCents == 420_000)
        #expect(c.depositCents == 50_000)  // 10% = 42,000, raised to the 50,000 minimum
        #expect(c.firstOfferSLASeconds == 15 * 60)
        #expect(c.path == .selfBook)
        #expect(c.reasons.contains("D6010 in D6000-D6199 -> surgical"))
        #expect(c.summary == "D6010 in D6000-D6199 -> surgical; 120 min; deposit 50000 cents; SLA 15 min; path self_book")
    }

    @Test func crownIsRestorative() throws {
        let c = try classify(Fixtures.crown)
        #expect(c.tier == "restorative")
        #expect(c.chairMinutes == 90)
        #expect(c.depositCents == 13_500)
        #expect(c.firstOfferSLASeconds == 30 * 60)
    }

    @Test func botoxIsAesthetic() throws {
        let c = try classify(Fixtures.botox)
        #expect(c.tier == "aesthetic")
        #expect(c.chairMinutes == 30)  // the PMS's minutes win
        #expect(c.depositCents == 6_300)  // 15% of 42,000
        #expect(c.providerRole == .injector)
    }

    @Test func sealantIsAddOnWithoutDeposit() throws {
        let c = try classify(Fixtures.sealant)
        #expect(c.tier == "add_on")
        #expect(c.chairMinutes == 15)
        #expect(c.depositCents == 0)
        #expect(c.firstOfferSLASeconds == 60 * 60)
    }

    @Test func mixedPlanTakesHighestTierAndAddsMinutes() throws {
        let data = Fixtures.planAccepted(procedures: [
            Fixtures.procedure("D1351", 6_500), Fixtures.procedure("D2740", 135_000), Fixtures.procedure("D7210", 40_000),
        ])
        let c = try classify(data)
        #expect(c.tier == "surgical")
        #expect(c.chairMinutes == 15 + 90 + 60)
        #expect(c.depositCents == 50_000)  // 10% of 181,500 = 18,150 -> minimum 50,000
        #expect(c.reasons.contains { $0.hasPrefix("highest tier of 3 procedures: surgical") })
    }

    @Test func depositUsesPatientPortionAndMaximum() throws {
        let fullArch = Fixtures.planAccepted(procedures: [Fixtures.procedure("D6114", 2_800_000)], portion: 2_500_000)
        let c = try classify(fullArch)
        #expect(c.depositCents == 200_000)  // 10% of 2.5M = 250,000 capped at 200,000
        #expect(c.reasons.contains { $0.contains("patient portion") && $0.contains("capped at maximum 200000") })
    }

    @Test func unknownCDTCodeGetsDefaultTierWithReason() throws {
        let c = try classify(Fixtures.planAccepted(procedures: [Fixtures.procedure("D0001", 1_000)]))
        #expect(c.tier == "add_on")
        #expect(c.reasons.first == "D0001 matches no tier rule; default tier -> add_on")
    }

    @Test func pathsFollowPresenceAndConsent() throws {
        #expect(try classify(Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 1)], inOffice: true)).path == .sameVisit)
        // email fallback
        #expect(try classify(Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 1)], smsConsent: false)).path == .selfBook)
        #expect(try classify(Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 1)], channel: "phone")).path == .callback)
    }

    @Test func absurdChairTimeIsCapped() throws {
        let procs = (0..<6).map { _ in Fixtures.procedure("D6010", 1_000, minutes: 120) }
        let c = try classify(Fixtures.planAccepted(procedures: procs))
        #expect(c.chairMinutes == 480)
        #expect(c.reasons.contains { $0.contains("capped at 480 min") })
    }

    @Test func locationOverrideChangesSLA() throws {
        let yaml = RoutingRules.defaultYAML + "\nlocations:\n  loc-12:\n    tiers:\n      surgical: { first_offer_sla: 10m }\n"
        let rules = try RoutingRules(yaml: yaml)
        #expect(try classify(Fixtures.implant, rules: rules).firstOfferSLASeconds == 600)
        let elsewhere = Fixtures.planAccepted(location: "loc-99", procedures: [Fixtures.procedure("D6010", 240_000)])
        #expect(try classify(elsewhere, rules: rules).firstOfferSLASeconds == 900)
    }

    /// Property: for random plans the tier is the highest-priority tier of any procedure, or (only
    /// when value and chair time are both below that tier's typical minimums) a smaller tier reached
    /// through `typical.smaller`; minutes are the sum; the deposit never exceeds half the base.
    /// A fresh seed per run.
    @Test func invariantsOverRandomPlans() throws {
        let seed = TestSeed(default: TestSeed.fresh())
        var rng = seed.generator()
        let codes = ["D6010", "D6065", "D2740", "D1351", "D7210", "D0150", "D3330", "BOTOX-20U", "D9972", "D4341"]
        let rules = RoutingRules.defaults
        for _ in 0..<300 {
            let n = Int.random(in: 1...6, using: &rng)
            let procs = (0..<n).map { _ -> JSONValue in
                let code = codes.randomElement(using: &rng)!
                return Fixtures.procedure(code, Int64.random(in: 0...500_000, using: &rng), system: code.hasPrefix("D") ? nil : "service")
            }
            let data = Fixtures.planAccepted(procedures: procs)
            let c = try seed.attempt { try classify(data) }
            let plan = try seed.attempt { try PlanAccepted(data: data) }
            let tierPriorities = plan.procedures.map { p in
                rules.tiers.first { $0.match.explain(p.code) != nil }?.priority ?? rules.tier(named: rules.defaultTier)!.priority
            }
            let clinical = rules.tiers.first { $0.priority == tierPriorities.max() }!
            var reachable = [clinical.name]
            var t = clinical
            while let typical = t.typical, typical.isBelow(valueCents: plan.totalFeeCents, chairMinutes: c.chairMinutes),
                let name = typical.smallerTier, let next = rules.tier(named: name)
            {
                reachable.append(name)
                t = next
            }
            #expect(c.tier.rawValue == reachable.last, seed.replay)
            #expect(c.depositCents <= plan.totalFeeCents / 2, seed.replay)
            #expect(c.depositCents >= 0, seed.replay)
            #expect(c.chairMinutes <= 480 && c.chairMinutes >= 5, seed.replay)
            #expect(Classifier.classify(plan, rules: rules, rulesVersion: 0) == c, seed.replay)  // deterministic
        }
    }
}
