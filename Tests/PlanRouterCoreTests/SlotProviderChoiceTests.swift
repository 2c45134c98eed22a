import Foundation
import PlanRouterCore
import Testing

/// Issue 12, point 3: a required role is a hard constraint; the treating provider only orders the
/// providers that have it; other roles only through the tier's `role_fallback`, and the result says so.
@Suite struct SlotProviderChoiceTests {
    // 2026-12-01 is a Tuesday.
    func block(_ day: String, _ from: String = "09:00", _ to: String = "12:00") -> ScheduleBlock {
        ScheduleBlock(range: range("\(day) \(from)", "\(day) \(to)"))
    }

    func request(role: String?, preferred: String?, fallback: [String] = [], count: Int = 2) -> SlotRequest {
        SlotRequest(
            providerRole: role, preferredProviderID: preferred, fallbackRoles: fallback, durationMinutes: 60,
            earliest: at("2026-12-01 00:00", newYork), latest: at("2026-12-31 00:00", newYork), count: count)
    }

    func starts(_ openings: [Opening]) -> [String] { openings.map { String(localText($0.range.start, newYork).prefix(16)) } }

    /// The reported case: a consult needing an oral surgeon, whose treating provider is a general dentist
    /// with earlier openings. Before the fix the dentist's times were offered.
    @Test func theRequiredRoleWinsOverTheTreatingProvider() {
        let cal = location([
            provider("dr-general", roles: ["dentist"], ops: ["op1"], blocks: [block("2026-12-01"), block("2026-12-02")]),
            provider("dr-surgeon", roles: ["oral_surgeon"], ops: ["op2"], blocks: [block("2026-12-03"), block("2026-12-04")]),
        ])
        let got = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-general"), in: cal)
        #expect(got.openings.map(\.providerID) == ["dr-surgeon", "dr-surgeon"])
        #expect(starts(got.openings) == ["2026-12-03 09:00", "2026-12-04 09:00"])
        #expect(got.match == .requiredRole("oral_surgeon"))
        // Naming the dentist outright does not bypass the role either.
        var named = request(role: "oral_surgeon", preferred: nil)
        named.providerID = "dr-general"
        #expect(SlotSearch.find(named, in: cal).isEmpty)
    }

    @Test func theTreatingProviderIsPreferredAmongThoseWithTheRole() {
        let cal = location([
            provider("dr-early", roles: ["oral_surgeon"], ops: ["op1"], blocks: [block("2026-12-01"), block("2026-12-02")]),
            provider("dr-own", roles: ["oral_surgeon", "dentist"], ops: ["op2"], blocks: [block("2026-12-08"), block("2026-12-09")]),
        ])
        let own = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-own"), in: cal)
        #expect(own.openings.map(\.providerID) == ["dr-own", "dr-own"])
        #expect(starts(own.openings) == ["2026-12-08 09:00", "2026-12-09 09:00"])
        #expect(own.match == .preferredProvider("dr-own"))
        // The treating provider has nothing in the window: the earliest of the others with the role.
        var full = cal
        full.providers[1].busy = [range("2026-12-01 00:00", "2026-12-31 00:00")]
        let others = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-own"), in: full)
        #expect(others.openings.map(\.providerID) == ["dr-early", "dr-early"])
        #expect(others.match == .requiredRole("oral_surgeon"))
    }

    @Test func otherRolesOnlyThroughTheFallbackAndInItsOrder() {
        let cal = location([
            provider("hyg", roles: ["hygienist"], ops: ["op1"], blocks: [block("2026-12-01")]),
            provider("dr-general", roles: ["dentist"], ops: ["op2"], blocks: [block("2026-12-02")]),
            provider(
                "dr-surgeon", roles: ["oral_surgeon"], ops: ["op3"], blocks: [block("2026-12-03")],
                busy: [range("2026-12-03 09:00", "2026-12-03 12:00")]),
        ])
        // No surgeon opening and no fallback: nothing (the case goes to a coordinator).
        let none = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-general"), in: cal)
        #expect(none.openings.isEmpty)
        #expect(none.match == nil)
        // Fallback [dentist, hygienist]: the dentist, though the hygienist is earlier.
        let fell = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-general", fallback: ["dentist", "hygienist"]), in: cal)
        #expect(fell.openings.map(\.providerID) == ["dr-general"])
        #expect(fell.match == .fallbackRole("dentist"))
        // A surgeon opening makes the fallback unused.
        var open = cal
        open.providers[2].busy = []
        let surgeon = SlotSearch.search(request(role: "oral_surgeon", preferred: "dr-general", fallback: ["dentist"]), in: open)
        #expect(surgeon.openings.map(\.providerID) == ["dr-surgeon"])
        #expect(surgeon.match == .requiredRole("oral_surgeon"))
    }

    @Test func withoutARoleTheNamedProviderOnly() {
        let cal = location([
            provider("a", roles: ["dentist"], ops: ["op1"], blocks: [block("2026-12-01")]),
            provider("b", roles: ["hygienist"], ops: ["op2"], blocks: [block("2026-12-02")]),
        ])
        var r = request(role: nil, preferred: "b")
        r.providerID = "b"
        let got = SlotSearch.search(r, in: cal)
        #expect(got.openings.map(\.providerID) == ["b"])
        #expect(got.match == .preferredProvider("b"))
    }

    /// Seeded random calendars: the search's openings are exactly what a brute-force reading of the rules
    /// gives for the first provider set that has any: the preferred provider (when it has the role), all
    /// providers with the role, then each fallback role in order.
    @Test(arguments: 0..<6)
    func choiceMatchesTheRulesOnRandomCalendars(batch: Int) {
        var rng = SplitMix64(seed: 7000 + UInt64(batch))
        func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let roles = ["dentist", "hygienist", "oral_surgeon"]
        var stagesSeen = Set<String>()
        for _ in 0..<25 {
            var (cal, req) = SlotSearchPropertyTests.randomCase(&rng)
            cal.providers = cal.providers.map { p in
                var p = p
                p.roles = Set((0..<(1 + int(2))).map { _ in roles[int(3)] })
                return p
            }
            req.providerID = nil
            req.providerRole = int(4) == 0 ? nil : roles[int(3)]
            req.preferredProviderID = int(3) == 0 ? nil : "p\(int(cal.providers.count + 1))"
            req.fallbackRoles = roles.filter { _ in int(2) == 0 }.shuffled(using: &rng)
            if req.providerRole == nil, let preferred = req.preferredProviderID, int(2) == 0 { req.providerID = preferred }

            var stages: [(SlotRequest, SlotSearch.ProviderMatch)] = []
            func has(_ p: ProviderCalendar, _ role: String?) -> Bool {
                (req.providerID.map { p.providerID == $0 } ?? true) && (role.map { p.roles.contains($0) } ?? true)
            }
            if let preferred = req.preferredProviderID,
                cal.providers.contains(where: { $0.providerID == preferred && has($0, req.providerRole) })
            {
                var only = req
                only.providerID = preferred
                stages.append((only, .preferredProvider(preferred)))
            }
            stages.append((req, .requiredRole(req.providerRole)))
            if req.providerRole != nil {
                for role in req.fallbackRoles where role != req.providerRole {
                    var other = req
                    other.providerRole = role
                    stages.append((other, .fallbackRole(role)))
                }
            }
            let expected = stages.first { SlotSearchPropertyTests.Brute(cal, $0.0).earliest(picked: []) != nil }
            let got = SlotSearch.search(req, in: cal)
            #expect(got.match == expected?.1, "roles \(cal.providers.map(\.roles)) request \(req.providerRole ?? "-") \(req.fallbackRoles)")
            guard let expected else {
                #expect(got.openings.isEmpty)
                continue
            }
            let (stage, match) = expected
            stagesSeen.insert("\(match)".prefix { $0 != "(" }.description)
            let brute = SlotSearchPropertyTests.Brute(cal, stage)
            var picked: [Opening] = []
            for o in got.openings {
                let pi = cal.providers.firstIndex { $0.providerID == o.providerID }!
                let next = brute.earliest(picked: picked)
                #expect(next?.0 == o.range.start && next?.1 == pi, "got \(o) expected \(String(describing: next))")
                #expect(brute.valid(pi, o.range.start, o.operatoryID, picked: picked))
                picked.append(o)
            }
            if got.openings.count < req.count { #expect(brute.earliest(picked: picked) == nil) }
        }
        #expect(stagesSeen.count >= 2, "\(stagesSeen)")
    }
}
