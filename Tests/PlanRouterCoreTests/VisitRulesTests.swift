import Foundation
import PlanRouterCore
import Testing

/// Splitting plans into visits (`visits:` of the rules, docs/rules.md#visits): the shipped defaults at
/// the boundaries of their code ranges, the intervals, and the validation messages for bad entries.
@Suite struct VisitRulesTests {
    func plan(_ procedures: [JSONValue], portion: Int64? = nil) throws -> PlanAccepted {
        try PlanAccepted(data: Fixtures.planAccepted(procedures: procedures, portion: portion))
    }

    func visits(_ codes: [String], rules: RoutingRules = .defaults) throws -> [PlannedVisit] {
        VisitSplitter.split(try plan(codes.map { Fixtures.procedure($0, 10_000) }).procedures, rules: rules)
    }

    /// Which visit each code lands in, for a plan of one implant placement and the code.
    func stage(of code: String) throws -> Int {
        let v = try visits(["D6010", code])
        return try #require(v.first { $0.procedureIndices.contains(1) }).number
    }

    @Test func theWorkedExampleImplantIsASurgeryNowAndACrownTwelveWeeksAfterIt() throws {
        var surgery = Fixtures.procedure("D6010", 240_000).objectValue!
        surgery["provider_role"] = "oral_surgeon"
        let p = try plan([.object(surgery), Fixtures.procedure("D6065", 180_000)], portion: 310_000)
        let c = Classifier.classify(p, rules: .defaults, rulesVersion: 0)
        #expect(c.tier.rawValue == "surgical")
        #expect(c.chairMinutes == 120)  // not 150: the crown is not in this visit
        #expect(c.providerRole == .oralSurgeon)
        #expect(c.depositCents == 50_000)
        #expect(c.visits.count == 2)
        #expect(c.visits[1].procedureIndices == [1])
        #expect(c.visits[1].afterSeconds == 84 * 86_400)
        #expect(c.visits[1].role == .dentist)
        #expect(c.visits[1].kind == .staged)
        #expect(c.reasons.contains("visit 1 of 2 now: D6010 (implant placement)"))
        #expect(
            c.reasons.contains(
                "visit 2 of 2 (staged): D6065 (implant restoration), at least 12 weeks after visit 1 is completed with a dentist"))
        #expect(c.reasons.contains("chair time 120 min: D6010 120 (visit rule implant placement)"))
    }

    @Test func implantRangesBoundaries() throws {
        // Placement D6010-D6013 and D6040-D6050 (visit 1); restoration from D6056 (visit 2).
        for code in ["D6010", "D6013", "D6040", "D6050"] { #expect(try stage(of: code) == 1, "\(code)") }
        for code in ["D6056", "D6067", "D6068", "D6077", "D6094", "D6110", "D6117", "D6123"] {
            #expect(try stage(of: code) == 2, "\(code)")
        }
        // Just outside: D6055 (connecting bar) and D6014/D6039 match no visit rule: visit 1 with the surgery.
        for code in ["D6055", "D6014", "D6039", "D6051"] { #expect(try stage(of: code) == 1, "\(code)") }
    }

    @Test func aCrownOnAnExistingImplantIsOfferedAtOnce() throws {
        let v = try visits(["D6065"])
        #expect(v.count == 1 && v[0].number == 1 && v[0].afterSeconds == 0)
        let c = Classifier.classify(try plan([Fixtures.procedure("D6065", 180_000)]), rules: .defaults, rulesVersion: 0)
        #expect(c.visits.count == 1)
        #expect(!c.reasons.contains { $0.hasPrefix("visit ") })
    }

    @Test func scalingQuadrantsAreOneVisitEachAWeekApart() throws {
        let v = try visits(["D4341", "D4341", "D4342", "D1110"])
        #expect(v.map(\.number) == [1, 2, 3])
        #expect(v[0].procedureIndices == [0, 3])  // the prophylaxis (no rule) goes with the first quadrant
        #expect(v[1].procedureIndices == [1] && v[2].procedureIndices == [2])
        #expect(v.dropFirst().allSatisfy { $0.afterSeconds == 7 * 86_400 && $0.kind == .staged })
        // Perio maintenance is the recall after the last quadrant.
        let withRecall = try visits(["D4341", "D4341", "D4910"])
        #expect(withRecall.count == 3 && withRecall[2].kind == .recall && withRecall[2].afterSeconds == 84 * 86_400)
    }

    @Test func aFollowUpIsOneVisitWithoutADeposit() throws {
        var data = Fixtures.planAccepted(procedures: [Fixtures.procedure("D6065", 180_000)]).objectValue!
        data["visit"] = FollowUpVisit(parentPlanID: "plan-1001", number: 2, of: 2, kind: .staged).json
        let c = Classifier.classify(try PlanAccepted(data: .object(data)), rules: .defaults, rulesVersion: 0)
        #expect(c.visits.count == 1)
        #expect(c.depositCents == 0)
        #expect(c.providerRole == .dentist)
        #expect(c.tier.rawValue == "restorative")  // $1,800 and 60 min are below surgical's typical case
        #expect(c.reasons.contains("visit 2 of 2 (staged) of plan plan-1001"))
        #expect(c.reasons.contains("no deposit: visit 2 of 2 of plan plan-1001 (asked with its first visit)"))
    }

    @Test func followUpIDsAreDerivedAndStayWithinTheContract() {
        #expect(FollowUpVisit.followUpPlanID(parent: "tp-1", number: 2) == "tp-1/visit-2")
        let long = String(repeating: "a", count: 128)
        let other = String(repeating: "a", count: 127) + "b"
        let a = FollowUpVisit.followUpPlanID(parent: long, number: 2)
        #expect(a.utf8.count <= 128 && a.hasSuffix("/visit-2"))
        // Still a valid plan id of the contract (the schema's pattern).
        #expect(a.range(of: "^[A-Za-z0-9][A-Za-z0-9._:@/-]*$", options: .regularExpression) != nil)
        #expect(a != FollowUpVisit.followUpPlanID(parent: other, number: 2))
        #expect(
            FollowUpVisit.eventID(organizationID: "o", parent: "p", number: 2)
                == FollowUpVisit.eventID(organizationID: "o", parent: "p", number: 2))
        #expect(
            FollowUpVisit.eventID(organizationID: "o", parent: "p", number: 2)
                != FollowUpVisit.eventID(organizationID: "o", parent: "p", number: 3))
    }

    @Test func durationsInWeeks() {
        #expect(RoutingRules.showDuration(84 * 86_400) == "12 weeks")
        #expect(RoutingRules.showDuration(7 * 86_400) == "1 week")
        #expect(RoutingRules.showDuration(10 * 86_400) == "10 days")
    }

    // MARK: validation

    func rules(_ visits: String) throws -> RoutingRules {
        let base = RoutingRules.defaultYAML.components(separatedBy: "\nvisits:\n")[0]
        return try RoutingRules(yaml: base + "\nvisits:\n" + visits)
    }

    func problems(_ visits: String) -> [String] {
        let base = RoutingRules.defaultYAML.components(separatedBy: "\nvisits:\n")[0]
        do {
            _ = try RoutingRules(yaml: base + "\nvisits:\n" + visits)
            return []
        } catch let e as RulesValidationError {
            return e.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    /// Exactly one problem, at `path` (its line may follow), saying `message`.
    func only(_ problems: [String], _ path: String, _ message: String) -> Bool {
        problems.count == 1 && problems[0].hasPrefix(path) && problems[0].hasSuffix(": " + message)
    }

    @Test func aReversedRangeSaysWhichCodeComesFirst() {
        let p = problems("  - { name: crown, match: { ranges: [D6067-D6056] }, visit: 2, after: 12w }\n")
        #expect(
            p.contains {
                $0.hasPrefix("visits[0].match.ranges[0]") && $0.contains("D6067 comes after D6056: give the lower code first (D6056-D6067)")
            })
    }

    @Test func intervalsAreChecked() {
        #expect(
            only(
                problems("  - { name: crown, match: { codes: [D6065] }, visit: 2 }\n"), "visits[0].after",
                "is required for a later visit: the minimum time after the previous one, e.g. 12w"))
        #expect(
            only(
                problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 12 }\n"), "visits[0].after",
                "expected a duration such as 15m, 48h or 2d"))
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 105w }\n").contains {
                $0.contains("must be at most 104w (two years)")
            })
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 2h }\n").contains {
                $0.contains("must be at least 1d")
            })
        #expect(
            problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, after: 1w }\n").contains {
                $0.contains("visit 1 is offered at once; `after` applies to visit 2 and later (or with each: true)")
            })
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 0, after: 1w }\n").contains {
                $0.contains("must be between 1 and 20")
            })
    }

    @Test func overlapsKindsRolesAndKeysAreChecked() {
        let overlap = problems(
            """
              - { name: surgery, match: { ranges: [D6010-D6020] }, visit: 1 }
              - { name: crown, match: { ranges: [D6015-D6070] }, visit: 2, after: 12w }

            """)
        #expect(overlap.contains { $0.hasPrefix("visits[1].match") && $0.contains("D6015-D6020 is also matched by visits[0] (surgery)") })
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 12w, kind: later }\n").contains {
                $0.contains("must be staged or recall")
            })
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 12w, role: surgeon }\n").contains {
                $0.contains("visits[0].role") && $0.contains("unknown role")
            })
        #expect(
            problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 12w, offer_together: true }\n").contains {
                $0.contains("visits[0].offer_together") && $0.contains("unknown key")
            })
        #expect(
            problems("  - { match: { codes: [D6065] }, visit: 2, after: 12w }\n").contains {
                $0.contains("visits[0].name") && $0.contains("is required")
            })
    }

    // MARK: the surgeon

    @Test func theImplantSurgeryNeedsTheSurgeonAndFallsBackToADentist() throws {
        // Without a role from the PMS, the placement rule's oral_surgeon; its fallback applies to that role only.
        let p = try plan([Fixtures.procedure("D6010", 240_000), Fixtures.procedure("D6065", 180_000)])
        let c = Classifier.classify(p, rules: .defaults, rulesVersion: 0)
        #expect(c.providerRole == .oralSurgeon)
        let surgical = try #require(RoutingRules.defaults.tier(named: "surgical"))
        let implant = RoutingRules.defaults.roleFallback(for: "oral_surgeon", codes: ["D6010", "D6065"], tier: surgical)
        #expect(implant.roles == ["dentist"] && implant.rule == "implant placement")
        // A crown's dentist (restoration rule, no fallback) and a tier role fall back only as the tier says (none).
        #expect(RoutingRules.defaults.roleFallback(for: "dentist", codes: ["D6065"], tier: surgical).roles.isEmpty)
        #expect(RoutingRules.defaults.roleFallback(for: "oral_surgeon", codes: ["D7210"], tier: surgical).roles.isEmpty)
    }

    @Test func aVisitFallbackNeedsTheRulesRoleAndKnownOtherRoles() {
        #expect(
            only(
                problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, role_fallback: [dentist] }\n"),
                "visits[0].role_fallback",
                "needs a role on the same rule: the roles tried when no provider with it is free"))
        #expect(
            only(
                problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, role: oral_surgeon, role_fallback: [oral_surgeon] }\n"),
                "visits[0].role_fallback", "lists the rule's own role oral_surgeon"))
        #expect(
            problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, role: oral_surgeon, role_fallback: [barber] }\n").contains {
                $0.hasPrefix("visits[0].role_fallback[0]") && $0.contains("unknown role")
            })
        #expect(
            problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, role: oral_surgeon, role_fallback: [dentist, dentist] }\n")
                .contains { $0.hasPrefix("visits[0].role_fallback[1]") && $0.contains("duplicate role dentist") })
    }

    // MARK: series

    @Test func theDefaultScalingQuadrantsAreASeriesAndTheImplantCrownIsNot() throws {
        let srp = Classifier.classify(
            try plan([Fixtures.procedure("D4341", 28_000), Fixtures.procedure("D4341", 28_000), Fixtures.procedure("D4910", 15_000)]),
            rules: .defaults, rulesVersion: 0)
        #expect(srp.visits.map(\.series) == [false, true, false])  // visit 1 is offered at once; the recall waits for completed care
        #expect(
            srp.reasons.contains(
                "visit 2 of 3 (staged): D4341 (scaling and root planing), at least 1 week after visit 1, offered once it is booked (series)"
            ))
        #expect(srp.reasons.contains { $0.hasPrefix("visit 3 of 3 (recall): D4910") && $0.contains("after visit 2 is completed") })
        let implant = try visits(["D6010", "D6065"])
        #expect(implant.map(\.series) == [false, false])
    }

    @Test func aLaterVisitMayBeASeries() throws {
        let r = try rules("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 2w, series: true }\n")
        #expect(r.visits.count == 1 && r.visits[0].series && r.visits[0].stage == 2 && r.visits[0].afterSeconds == 14 * 86_400)
        let v = VisitSplitter.split(
            try plan([Fixtures.procedure("D6010", 240_000), Fixtures.procedure("D6065", 1_000)]).procedures, rules: r)
        #expect(v.count == 2 && v[1].series && v[1].afterSeconds == 14 * 86_400)
        // `series: false` says the default out loud.
        #expect(try rules("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 2w, series: false }\n").visits[0].series == false)
    }

    @Test func aSeriesNeedsAVisitBeforeItAndIsNotARecall() {
        #expect(
            only(
                problems("  - { name: surgery, match: { codes: [D6010] }, visit: 1, series: true }\n"), "visits[0].series",
                "visit 1 is offered at once; series: true applies to visit 2 and later (or with each: true)"))
        #expect(
            only(
                problems("  - { name: maintenance, match: { codes: [D4910] }, visit: 2, after: 12w, kind: recall, series: true }\n"),
                "visits[0].series",
                "a recall follows completed care; series: true (routed when the previous visit is booked) applies to staged visits"))
        #expect(
            only(
                problems("  - { name: crown, match: { codes: [D6065] }, visit: 2, after: 12w, series: yes please }\n"), "visits[0].series",
                "expected true or false"))
    }

    @Test func aCustomRuleSplitsAndItsChairMinutesGiveWayToThePMS() throws {
        let r = try rules(
            "  - { name: bone graft healing, match: { codes: [D6010] }, visit: 2, after: 16w, chair_minutes: 100, role: oral_surgeon }\n")
        let c = Classifier.classify(
            try plan([Fixtures.procedure("D7953", 60_000), Fixtures.procedure("D6010", 240_000, minutes: 75)]), rules: r, rulesVersion: 0)
        #expect(c.visits.count == 2 && c.visits[1].afterSeconds == 16 * 7 * 86_400 && c.visits[1].role == .oralSurgeon)
        #expect(c.reasons.contains("chair time 45 min: D7953 45 (D7000-D7999)"))
        let alone = Classifier.classify(try plan([Fixtures.procedure("D6010", 240_000, minutes: 75)]), rules: r, rulesVersion: 0)
        #expect(alone.chairMinutes == 75)  // the PMS's minutes win over the visit rule's 100
    }
}
