extension RoutingRules {
    /// One `visits:` entry: which visit the matching procedures belong to and what that visit needs.
    public struct VisitRule: Sendable, Hashable {
        /// Names the rule in the classification's reasons (`name`).
        public var name: String
        public var match: CodeMatch
        /// The visit (stage) of the plan, 1 = now (`visit`); procedures no rule matches belong to visit 1.
        public var stage: Int
        /// The minimum time between the previous visit and this one (`after`); ignored for the plan's first visit.
        public var afterSeconds: Int
        /// Chair minutes per matching procedure (`chair_minutes`): below the PMS's own minutes, above the code rules.
        public var chairMinutes: Int?
        /// The role the visit requires (`role`), below a procedure's own `provider_role`, above the tier's.
        public var role: ProviderRole?
        /// Roles offered, in order, only when no provider with `role` has an opening (`role_fallback`), as a
        /// tier's `role_fallback`; it wins over the tier's for a case requiring this rule's role.
        public var roleFallback: [String]
        public var kind: VisitKind
        /// Each matching procedure is a visit of its own, one after the other (`each: true`, e.g. SRP quadrants).
        public var eachProcedure: Bool
        /// The visit is offered as a series (`series: true`): routed as soon as the previous visit is booked, not
        /// completed, with openings from that booking's start + `after` (a patient books all SRP quadrants at once).
        public var series: Bool

        public init(
            name: String, match: CodeMatch, stage: Int, afterSeconds: Int = 0, chairMinutes: Int? = nil, role: ProviderRole? = nil,
            kind: VisitKind = .staged, eachProcedure: Bool = false, series: Bool = false, roleFallback: [String] = []
        ) {
            self.name = name
            self.match = match
            self.stage = stage
            self.afterSeconds = afterSeconds
            self.chairMinutes = chairMinutes
            self.role = role
            self.kind = kind
            self.eachProcedure = eachProcedure
            self.series = series
            self.roleFallback = roleFallback
        }
    }

    /// The roles to offer when no provider with `role` has an opening, for a case of `codes`: the
    /// `role_fallback` of the first visit rule matching one of the codes that requires `role`, else the
    /// tier's (e.g. the implant placement's surgeon falls back to a dentist; a crown's dentist does not).
    public func roleFallback(for role: String, codes: [String], tier: Tier) -> (roles: [String], rule: String?) {
        for code in codes {
            if let r = visitRule(for: code)?.rule, r.role?.rawValue == role, !r.roleFallback.isEmpty { return (r.roleFallback, r.name) }
        }
        return (tier.roleFallback, nil)
    }

    /// The first visit rule matching a code, with how it matched (for the reasons).
    public func visitRule(for code: String) -> (rule: VisitRule, how: String)? {
        for r in visits {
            if let how = r.match.explain(code) { return (r, how) }
        }
        return nil
    }
}
