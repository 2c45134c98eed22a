import Foundation
import Yams

extension RulesReader {
    /// The longest `after` a visit rule may give: two years.
    static let maximumVisitIntervalSeconds = 104 * 7 * 86_400

    /// `visits:`, a list of rules splitting plans into visits (docs/rules.md#visits). Every problem is
    /// reported with its path: unknown keys, bad ranges, intervals out of bounds, a code two rules claim.
    mutating func readVisits(_ node: Node, _ path: String) -> [RoutingRules.VisitRule] {
        var rules: [RoutingRules.VisitRule] = []
        for (i, item) in (list(node, path) ?? []).enumerated() {
            let ip = "\(path)[\(i)]"
            guard let rule = readVisit(item, ip) else { continue }
            if rules.contains(where: { $0.name == rule.name }) { fail(child(ip, "name"), item, "duplicate visit rule name \(rule.name)") }
            for (j, other) in rules.enumerated() {
                if let overlap = Self.overlap(rule.match, other.match) {
                    fail(
                        child(ip, "match"), item,
                        "\(overlap) is also matched by \(path)[\(j)] (\(other.name)); the first rule would always win")
                }
            }
            rules.append(rule)
        }
        return rules
    }

    mutating func readVisit(_ node: Node, _ path: String) -> RoutingRules.VisitRule? {
        let before = errors.count
        let entries = mapping(
            node, path, allowed: ["name", "match", "visit", "after", "chair_minutes", "role", "role_fallback", "kind", "each", "series"])
        guard let entries else { return nil }
        var rule = RoutingRules.VisitRule(name: "", match: .init(), stage: 0)
        var sawAfter: Node?
        var sawSeries: Node?
        var sawFallback: Node?
        for (key, v) in entries {
            let p = child(path, key)
            switch key {
            case "name":
                rule.name = string(v, p) ?? ""
            case "match":
                rule.match = readMatch(v, p) ?? rule.match
            case "visit":
                rule.stage = Int(int(v, p, 1...20) ?? 0)
            case "after":
                sawAfter = v
                guard let seconds = duration(v, p) else { continue }
                if seconds > Self.maximumVisitIntervalSeconds {
                    fail(p, v, "must be at most 104w (two years); a longer gap is a new plan, not a visit of this one")
                } else if seconds < 86_400 {
                    fail(p, v, "must be at least 1d: visits of one plan on the same day are one visit")
                } else {
                    rule.afterSeconds = seconds
                }
            case "chair_minutes":
                rule.chairMinutes = int(v, p, 5...480).map(Int.init)
            case "role":
                guard let s = string(v, p) else { continue }
                if let role = ProviderRole(rawValue: s), role != .any {
                    rule.role = role
                } else {
                    fail(p, v, "unknown role (one of \(RulesReader.roles.sorted().joined(separator: ", ")))")
                }
            case "role_fallback":
                sawFallback = v
                rule.roleFallback = readRoleFallback(v, p)
            case "kind":
                guard let s = string(v, p) else { continue }
                if let kind = VisitKind(rawValue: s) { rule.kind = kind } else { fail(p, v, "must be staged or recall") }
            case "series":
                sawSeries = v
                rule.series = bool(v, p) ?? false
            default:
                rule.eachProcedure = bool(v, p) ?? false
            }
        }
        for required in ["name", "match", "visit"] where !entries.contains(where: { $0.0 == required }) {
            fail(child(path, required), node, "is required")
        }
        // Visit 1 is offered at once: an interval there would be silently ignored unless each procedure is its own visit.
        if let after = sawAfter, rule.stage == 1, !rule.eachProcedure {
            fail(child(path, "after"), after, "visit 1 is offered at once; `after` applies to visit 2 and later (or with each: true)")
        }
        if sawAfter == nil, rule.stage > 1 || rule.eachProcedure {
            fail(child(path, "after"), node, "is required for a later visit: the minimum time after the previous one, e.g. 12w")
        }
        // A fallback replaces a required role: without `role` there is nothing to fall back from.
        if let fallback = sawFallback, rule.role == nil {
            fail(child(path, "role_fallback"), fallback, "needs a role on the same rule: the roles tried when no provider with it is free")
        } else if let fallback = sawFallback, let role = rule.role, rule.roleFallback.contains(role.rawValue) {
            fail(child(path, "role_fallback"), fallback, "lists the rule's own role \(role.rawValue)")
        }
        if let series = sawSeries, rule.series { checkSeries(rule, series, child(path, "series")) }
        return errors.count == before ? rule : nil
    }

    /// `series: true` routes a visit when the previous one is booked: meaningless where no visit follows
    /// another (visit 1 without `each`), and contrary to a recall, which follows care that was done.
    mutating func checkSeries(_ rule: RoutingRules.VisitRule, _ node: Node, _ path: String) {
        if rule.stage == 1, !rule.eachProcedure {
            fail(path, node, "visit 1 is offered at once; series: true applies to visit 2 and later (or with each: true)")
        }
        if rule.kind == .recall {
            fail(
                path, node,
                "a recall follows completed care; series: true (routed when the previous visit is booked) applies to staged visits")
        }
    }

    /// A code or range both matches claim (listed codes and CDT ranges; prefixes are not compared).
    static func overlap(_ a: RoutingRules.CodeMatch, _ b: RoutingRules.CodeMatch) -> String? {
        for code in a.codes.sorted() where b.explain(code) != nil { return code }
        for code in b.codes.sorted() where a.explain(code) != nil { return code }
        for r in a.ranges {
            for s in b.ranges where r.lower <= s.upper && s.lower <= r.upper {
                let shared = CDTRange("D\(String(format: "%04d", max(r.lower, s.lower)))-D\(String(format: "%04d", min(r.upper, s.upper)))")
                return shared?.description ?? r.description
            }
        }
        return nil
    }
}
