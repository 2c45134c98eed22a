import Foundation
import PlanRouterCore
import Testing

/// The shipped defaults reproduce DESIGN.md's tier table: codes decide the clinical kind, and a
/// case below both of its tier's typical minimums (value and chair time) moves to a smaller tier.
/// Every boundary of the table is tried on both sides.
@Suite struct TierTableTests {
    func classify(
        _ code: String, cents: Int64, minutes: Int? = nil, portion: Int64? = nil, rules: RoutingRules = .defaults
    ) throws
        -> Classification
    {
        let data = Fixtures.planAccepted(procedures: [Fixtures.procedure(code, cents, minutes: minutes)], portion: portion)
        return Classifier.classify(try PlanAccepted(data: data), rules: rules, rulesVersion: 0)
    }

    @Test func theDefaultsCarryTheTableOfTheDesign() throws {
        let typical = Dictionary(uniqueKeysWithValues: RoutingRules.defaults.tiers.compactMap { t in t.typical.map { (t.name, $0) } })
        #expect(
            typical["surgical"]
                == .init(
                    minimumValueCents: 500_000, maximumValueCents: 3_000_000, minimumChairMinutes: 90, maximumChairMinutes: 180,
                    smallerTier: "restorative"))
        #expect(
            typical["restorative"]
                == .init(
                    minimumValueCents: 100_000, maximumValueCents: 400_000, minimumChairMinutes: 60, maximumChairMinutes: 120,
                    smallerTier: "add_on"))
        #expect(
            typical["aesthetic"]
                == .init(
                    minimumValueCents: 40_000, maximumValueCents: 150_000, minimumChairMinutes: 30, maximumChairMinutes: 60,
                    smallerTier: "add_on"))
        #expect(
            typical["add_on"]
                == .init(minimumValueCents: 8_000, maximumValueCents: 30_000, minimumChairMinutes: 15, maximumChairMinutes: 30))
        // Deposit ranges of the table: $500–$2,000 / $0–$500 / $50–$200 / $0.
        let deposits = Dictionary(uniqueKeysWithValues: RoutingRules.defaults.tiers.map { ($0.name, $0.deposit) })
        #expect(deposits["surgical"]?.minimumCents == 50_000 && deposits["surgical"]?.maximumCents == 200_000)
        #expect(deposits["restorative"]?.minimumCents == 0 && deposits["restorative"]?.maximumCents == 50_000)
        #expect(deposits["aesthetic"]?.minimumCents == 5_000 && deposits["aesthetic"]?.maximumCents == 20_000)
        #expect(deposits["add_on"]?.fixedCents == 0)
    }

    /// (code, value, minutes) → tier, on both sides of each tier's two minimums.
    @Test(arguments: [
        ("D7210", Int64(499_999), 89, "restorative"), ("D7210", 500_000, 89, "surgical"), ("D7210", 499_999, 90, "surgical"),
        ("D2740", 99_999, 59, "add_on"), ("D2740", 100_000, 59, "restorative"), ("D2740", 99_999, 60, "restorative"),
        ("BOTOX-20U", 39_999, 29, "add_on"), ("BOTOX-20U", 40_000, 29, "aesthetic"), ("BOTOX-20U", 39_999, 30, "aesthetic"),
        ("D1351", 100, 5, "add_on"),
    ])
    func aCaseMovesOnlyWhenBelowBothMinimums(code: String, cents: Int64, minutes: Int, tier: String) throws {
        #expect(try classify(code, cents: cents, minutes: minutes).tier == Tier(tier))
    }

    @Test func theReasonNamesTheBoundaryThatDecided() throws {
        let c = try classify("D7210", cents: 499_999, minutes: 89)
        #expect(c.reasons.contains("value $4,999.99 < surgical typical minimum $5,000 and 89 min < 90 min -> restorative"))
    }

    /// The reviewer's case: a $180 simple extraction was "surgical" and asked for a $180 deposit.
    @Test func aSimpleExtractionIsASmallCaseWithoutADeposit() throws {
        let c = try classify("D7140", cents: 18_000)
        #expect(c.tier == "add_on")
        #expect(c.depositCents == 0)
        #expect(c.chairMinutes == 30)
        #expect(c.providerRole == .dentist)  // the codes' clinical kind keeps the role
        #expect(c.reasons.contains("value $180 < surgical typical minimum $5,000 and 30 min < 90 min -> restorative"))
        #expect(c.reasons.contains("value $180 < restorative typical minimum $1,000 and 30 min < 60 min -> add_on"))
    }

    @Test func scalingAndRootPlaningIsHygieneNotRestorative() throws {
        let c = try classify("D4341", cents: 28_000)
        #expect(c.tier == "add_on")
        #expect(c.reasons.first == "D4341 listed -> add_on")
        #expect(try classify("D4260", cents: 150_000, minutes: 90).tier == "surgical")  // osseous surgery stays surgical
        #expect(try classify("D4381", cents: 120_000).tier == "restorative")  // the rest of the perio range is unchanged
    }

    /// The worked example: a $4,200 single implant, 120 minutes with the surgeon, stays surgical with the
    /// $500 minimum deposit although its value is under the tier's typical $5,000 (its chair time is not).
    @Test func theWorkedExampleImplantStaysSurgical() throws {
        let c = try classify("D6010", cents: 420_000, minutes: 120)
        #expect(c.tier == "surgical")
        #expect(c.depositCents == 50_000)
        #expect(c.chairMinutes == 120)
        #expect(RoutingRules.defaults.tier(named: "surgical")!.ladder.last == .init(afterSeconds: 72 * 3600, action: .coordinatorTask))
    }

    /// A tier minimum never turns into most of a small case's fee unless the rules allow it.
    @Test func theReasonLeadsWithTheFinalAmount() throws {
        let c = try classify("D6010", cents: 2_800_000, minutes: 180, portion: 2_500_000)
        #expect(c.reasons.contains("deposit 200000 cents: 10% of patient portion 2500000 = 250000, capped at maximum 200000"))
    }

    @Test func aDepositTakesAtMostHalfOfItsBaseByDefault() throws {
        let c = try classify("D7210", cents: 60_000, minutes: 120)  // surgical by chair time
        #expect(c.tier == "surgical")
        #expect(c.depositCents == 30_000)
        #expect(
            c.reasons.contains(
                "deposit 30000 cents: 10% of plan total 60000 = 6000, raised to minimum 50000, limited to 50% of the plan total"))
        let withPortion = try classify("D7210", cents: 200_000, minutes: 120, portion: 80_000)
        #expect(withPortion.depositCents == 40_000)  // half the patient portion, not the plan total

        var rules = RoutingRules.defaults
        let i = rules.tiers.firstIndex { $0.name == "surgical" }!
        rules.tiers[i].deposit.maximumSharePercent = 100
        #expect(try classify("D7210", cents: 60_000, minutes: 120, rules: rules).depositCents == 50_000)
    }

    @Test(arguments: [
        // Below the tier's deposit minimum, at it, between, at the maximum, above it (surgical: 10%, $500–$2,000).
        (Int64(1_000_000), Int64(100_000)), (2_000_000, 200_000), (3_000_000, 200_000), (500_000, 50_000), (499_999, 50_000),
    ])
    func surgicalDepositsStayInsideTheTableRange(cents: Int64, deposit: Int64) throws {
        #expect(try classify("D6010", cents: cents, minutes: 120).depositCents == deposit)
    }

    @Test func rulesRefuseASmallerTierThatIsNotSmaller() throws {
        let yaml = """
            format: planrouter.rules/v1
            default_tier: small
            tiers:
              - name: big
                priority: 200
                match: { ranges: [D6000-D6199] }
                typical: { value: { min_cents: 100, max_cents: 50 }, chair_minutes: { min: 60, max: 120 }, smaller: bigger }
                deposit: { percent: 10, max_share: 0 }
                first_offer_sla: 15m
                ladder: [{ after: 24h, action: coordinator_task }]
              - name: small
                priority: 100
                match: { ranges: [D0100-D1999], except: [D1351, D1110-D1120] }
                typical: { value: { min_cents: 1, max_cents: 5 }, chair_minutes: { min: 15, max: 30 }, smaller: big }
                deposit: { percent: 10, max_share: 100 }
                first_offer_sla: 60m
                ladder: [{ after: 24h, action: coordinator_task }]
            """
        do {
            _ = try RoutingRules(yaml: yaml)
            Issue.record("invalid rules were accepted")
        } catch let e as RulesValidationError {
            let paths = e.errors.map(\.path)
            #expect(paths.contains("tiers[0].typical.value.max_cents"))
            #expect(paths.contains("tiers[0].deposit.max_share"))
            #expect(paths.contains("tiers[1].typical.smaller"))  // names "big", which did not read
        }
        let fixed = yaml.replacingOccurrences(of: "min_cents: 100, max_cents: 50", with: "min_cents: 50, max_cents: 100")
            .replacingOccurrences(of: "max_share: 0 ", with: "max_share: 100 ").replacingOccurrences(of: ", smaller: big }", with: " }")
            .replacingOccurrences(of: "smaller: bigger", with: "smaller: small")
        let rules = try RoutingRules(yaml: fixed)
        #expect(rules.tiers[0].typical?.smallerTier == "small")
        // A tier cannot be its own smaller tier (the moves must end).
        let selfSmaller = fixed.replacingOccurrences(of: "smaller: small", with: "smaller: big")
        #expect(throws: RulesValidationError.self) { try RoutingRules(yaml: selfSmaller) }
        #expect(rules.tiers[1].match.explain("D1351") == nil)
        #expect(rules.tiers[1].match.explain("D1115") == nil)
        #expect(rules.tiers[1].match.explain("D0150") == "D0150 in D0100-D1999")
    }
}
