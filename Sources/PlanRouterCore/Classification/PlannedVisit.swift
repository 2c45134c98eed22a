/// One visit of a plan as the rules split it (`visits:`): which procedures, how long after the
/// previous visit, and what the matching rules require.
public struct PlannedVisit: Sendable, Hashable {
    /// 1-based; visit 1 is offered at once.
    public var number: Int
    /// Indices into the plan's `procedures`, in plan order.
    public var procedureIndices: [Int]
    /// The minimum time after the previous visit (0 for visit 1).
    public var afterSeconds: Int
    public var kind: VisitKind
    /// The role the visit's rules require (a procedure's own role still wins).
    public var role: ProviderRole?
    /// The rules that placed procedures here, by name, in first-match order (empty: no rule matched).
    public var ruleNames: [String]
    /// Routed when the previous visit is booked rather than completed (every rule placing it here says `series: true`).
    public var series: Bool

    public init(
        number: Int, procedureIndices: [Int], afterSeconds: Int, kind: VisitKind = .staged, role: ProviderRole? = nil, ruleNames: [String],
        series: Bool = false
    ) {
        self.number = number
        self.procedureIndices = procedureIndices
        self.afterSeconds = afterSeconds
        self.kind = kind
        self.role = role
        self.ruleNames = ruleNames
        self.series = series
    }
}

/// Splits plans into visits by the rules' `visits:` entries. Pure and deterministic.
public enum VisitSplitter {
    /// The visits of `procedures`, ordered. A procedure no rule matches belongs to visit 1; an
    /// `each: true` rule makes one visit per matching procedure (the first shares its stage's visit).
    /// Stages are numbered from 1 whatever the rules' numbers: a plan holding only an implant crown
    /// (stage 2) has it as visit 1, offered at once. `asOneVisit` keeps everything together (a
    /// follow-up visit PlanRouter routed is already one visit).
    public static func split(_ procedures: [PlanProcedure], rules: RoutingRules, asOneVisit: Bool = false) -> [PlannedVisit] {
        struct Key: Hashable, Comparable {
            var stage: Int
            var sequence: Int
            static func < (a: Key, b: Key) -> Bool { (a.stage, a.sequence) < (b.stage, b.sequence) }
        }
        struct EachKey: Hashable {
            var stage: Int
            var rule: String
        }
        var groups: [Key: [(index: Int, rule: RoutingRules.VisitRule?)]] = [:]
        var eachCount: [EachKey: Int] = [:]
        for (i, p) in procedures.enumerated() {
            let rule = rules.visitRule(for: p.code)?.rule
            var key = Key(stage: rule?.stage ?? 1, sequence: 0)
            if asOneVisit {
                key = Key(stage: 1, sequence: 0)
            } else if let rule, rule.eachProcedure {
                let k = EachKey(stage: rule.stage, rule: rule.name)
                key.sequence = eachCount[k, default: 0]
                eachCount[k] = key.sequence + 1
            }
            groups[key, default: []].append((i, rule))
        }
        return groups.keys.sorted().enumerated().map { n, key in
            let members = groups[key]!
            let matched = members.compactMap(\.rule)
            var names: [String] = []
            for r in matched where !names.contains(r.name) { names.append(r.name) }
            return PlannedVisit(
                number: n + 1, procedureIndices: members.map(\.index), afterSeconds: n == 0 ? 0 : matched.map(\.afterSeconds).max() ?? 0,
                kind: matched.contains { $0.kind == .recall } ? .recall : .staged, role: matched.compactMap(\.role).first,
                ruleNames: names, series: n > 0 && !matched.isEmpty && matched.allSatisfy(\.series))
        }
    }
}
