/// Classifies accepted plans by the routing rules. Pure and deterministic: the same
/// plan and rules always give the same classification and the same reasons.
public enum Classifier {
    public static func classify(_ plan: PlanAccepted, rules allRules: RoutingRules, rulesVersion: Int) -> Classification {
        let rules = allRules.resolved(for: plan.locationID)
        var reasons: [String] = []
        let value = plan.totalFeeCents

        // Tier: every procedure finds its tier; the highest priority wins.
        var best: RoutingRules.Tier?
        var bestReason = ""
        for p in plan.procedures {
            var found: (RoutingRules.Tier, String)?
            for t in rules.tiers {
                guard let how = t.match.explain(p.code) else { continue }
                if t.acceptsValue(value) {
                    found = (t, how)
                    break
                }
            }
            let (tier, reason): (RoutingRules.Tier, String)
            if let found {
                tier = found.0
                reason = "\(found.1) -> \(tier.name)"
            } else {
                tier = rules.tier(named: rules.defaultTier)!
                let what = p.isCDT && CDTRange.number(p.code) != nil ? "\(p.code) matches no tier rule" : "\(p.code) is not a known code"
                reason = "\(what); default tier -> \(tier.name)"
            }
            reasons.append(reason)
            if best == nil || tier.priority > best!.priority {
                best = tier
                bestReason = reason
            }
        }
        var tier = best ?? rules.tier(named: rules.defaultTier)!
        if plan.procedures.count > 1 {
            reasons.append("highest tier of \(plan.procedures.count) procedures: \(tier.name) (\(bestReason))")
        }
        // The codes' tier is the clinical kind: it keeps deciding the provider role if the case moves.
        let clinicalTier = tier

        // Visits: the rules split the plan; the first visit is offered now with its own chair time and role.
        let visits = VisitSplitter.split(plan.procedures, rules: rules, asOneVisit: plan.visit != nil)
        let first = visits.first.map { $0.procedureIndices.map { plan.procedures[$0] } } ?? plan.procedures
        reasons += visitReasons(plan, visits)

        // Chair time of the first visit: the PMS's minutes win, then a visit rule's, the code, its range, the default.
        var (minutes, chairReason) = chairTime(first, rules: rules)
        if minutes > rules.maximumChairMinutes {
            chairReason += "; capped at \(rules.maximumChairMinutes) min for one visit"
            minutes = rules.maximumChairMinutes
        }
        minutes = max(minutes, 5)
        reasons.append(chairReason)

        // Value and chair time: a case below both of its tier's typical minimums moves down.
        let (moved, moves) = moveSmallCase(tier, valueCents: value, chairMinutes: minutes, rules: rules)
        tier = moved
        reasons += moves

        // Deposit on the patient's portion when known, else the plan total.
        let base = plan.patientPortionCents ?? value
        let baseName = plan.patientPortionCents != nil ? "patient portion" : "plan total"
        var (deposit, depositReason) = computeDeposit(tier.deposit, base: base, baseName: baseName)
        if let v = plan.visit {
            // The plan's deposit was asked for with its first visit; a later visit does not ask again.
            deposit = 0
            depositReason = "no deposit: visit \(v.number) of \(v.of) of plan \(v.parentPlanID) (asked with its first visit)"
        }
        reasons.append(depositReason)
        reasons.append("first-offer SLA \(tier.firstOfferSLASeconds / 60) min (\(tier.name))")

        // Path.
        let (path, pathReason) = choosePath(plan.patient, sameVisitEnabled: rules.offer.sameVisitEnabled)
        reasons.append(pathReason)

        // The first visit's procedures' own role, else its visit rule's, else the clinical tier's.
        let role =
            first.compactMap(\.role).first { $0 != .any } ?? visits.first?.role
            ?? clinicalTier.providerRole.flatMap(ProviderRole.init(rawValue:))
        return Classification(
            tier: Tier(tier.name), path: path, chairMinutes: minutes, valueCents: value, depositCents: deposit,
            firstOfferSLASeconds: tier.firstOfferSLASeconds, holdWindowSeconds: tier.holdWindowSeconds, providerRole: role,
            rulesVersion: rulesVersion, reasons: reasons, visits: visits)
    }

    /// Chair minutes of one visit's procedures and the reason listing each one's source.
    static func chairTime(_ procedures: [PlanProcedure], rules: RoutingRules) -> (Int, String) {
        var minutes = 0
        var parts: [String] = []
        for p in procedures {
            let (m, source): (Int, String)
            if let pms = p.minutes {
                (m, source) = (pms, "PMS")
            } else if let v = rules.visitRule(for: p.code), let vm = v.rule.chairMinutes {
                (m, source) = (vm, "visit rule \(v.rule.name)")
            } else if let c = rules.chairMinutes.byCode[p.code] {
                (m, source) = (c, "code rule")
            } else if let r = rules.chairMinutes.byRange.first(where: { $0.range.contains(code: p.code) }) {
                (m, source) = (r.minutes, r.range.description)
            } else {
                (m, source) = (rules.chairMinutes.defaultMinutes, "default")
            }
            minutes += m
            parts.append("\(p.code) \(m) (\(source))")
        }
        return (minutes, "chair time \(minutes) min: " + parts.joined(separator: " + "))
    }

    /// One line per visit when the rules split the plan (none for a one-visit plan), or the follow-up's place.
    static func visitReasons(_ plan: PlanAccepted, _ visits: [PlannedVisit]) -> [String] {
        if let v = plan.visit {
            return ["visit \(v.number) of \(v.of) (\(v.kind.rawValue)) of plan \(v.parentPlanID)"]
        }
        guard visits.count > 1 else { return [] }
        return visits.map { v in
            let codes = v.procedureIndices.map { plan.procedures[$0].code }.joined(separator: " + ")
            let rule = v.ruleNames.isEmpty ? "" : " (\(v.ruleNames.joined(separator: ", ")))"
            if v.number == 1 { return "visit 1 of \(visits.count) now: \(codes)\(rule)" }
            let role =
                v.role.map { r -> String in
                    let name = r.rawValue.replacingOccurrences(of: "_", with: " ")
                    return " with \("aeiou".contains(name.first ?? "x") ? "an" : "a") \(name)"
                } ?? ""
            return
                "visit \(v.number) of \(visits.count) (\(v.kind.rawValue)): \(codes)\(rule), at least \(RoutingRules.showDuration(v.afterSeconds)) "
                + "after visit \(v.number - 1)\(v.series ? ", offered once it is booked (series)" : " is completed")\(role)"
        }
    }

    /// Moves a case whose value and chair time are both below its tier's typical minimums to the
    /// tier's `typical.smaller` tier, and on while it is still below (each step a reason line). Codes
    /// still decided the clinical kind (and the provider role); the smaller tier sets the deposit, SLA and
    /// ladder. The rules reader checks that each `smaller` has a lower priority, so this ends.
    static func moveSmallCase(
        _ start: RoutingRules.Tier, valueCents: Int64, chairMinutes: Int, rules: RoutingRules
    ) -> (RoutingRules.Tier, [String]) {
        var tier = start
        var reasons: [String] = []
        while let typical = tier.typical, let name = typical.smallerTier, let next = rules.tier(named: name), next.priority < tier.priority,
            typical.isBelow(valueCents: valueCents, chairMinutes: chairMinutes)
        {
            reasons.append(
                "value \(money(valueCents)) < \(tier.name) typical minimum \(money(typical.minimumValueCents))"
                    + " and \(chairMinutes) min < \(typical.minimumChairMinutes) min -> \(next.name)")
            tier = next
        }
        return (tier, reasons)
    }

    /// Whole dollars when the amount is round, else dollars and cents: "$5,000", "$180.50".
    static func money(_ cents: Int64) -> String {
        let dollars = cents / 100
        var digits = String(dollars)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits = String(digits.dropLast(3))
        }
        grouped = "$" + digits + grouped
        let rest = cents % 100
        return rest == 0 ? grouped : grouped + "." + (rest < 10 ? "0" : "") + String(rest)
    }

    static func computeDeposit(_ d: RoutingRules.Deposit, base: Int64, baseName: String) -> (Int64, String) {
        if let fixed = d.fixedCents {
            let amount = min(fixed, base, shareCap(d, base: base))
            if amount == 0 { return (0, "no deposit") }
            return (
                amount,
                amount == fixed
                    ? "deposit \(amount) cents (fixed)"
                    : "deposit \(amount) cents (fixed \(fixed), limited to \(RoutingRules.formatPercent(d.maximumSharePercent))% of the \(baseName))"
            )
        }
        let percent = d.percent ?? 0
        // Integer cents, rounded half up; never floating point money in the result.
        let raw = Int64((Double(base) * percent / 100).rounded(.toNearestOrAwayFromZero))
        var amount = max(raw, d.minimumCents)
        // The steps that changed the amount, in order; the reason leads with the final amount.
        var steps = ""
        if amount != raw { steps += ", raised to minimum \(d.minimumCents)" }
        if let mx = d.maximumCents, amount > mx {
            amount = mx
            steps += ", capped at maximum \(mx)"
        }
        if amount > base {
            amount = base
            steps += ", limited to the \(baseName)"
        }
        let share = shareCap(d, base: base)
        if amount > share {
            amount = share
            steps += ", limited to \(RoutingRules.formatPercent(d.maximumSharePercent))% of the \(baseName)"
        }
        return (amount, "deposit \(amount) cents: \(RoutingRules.formatPercent(percent))% of \(baseName) \(base) = \(raw)" + steps)
    }

    /// `max_share` percent of the base, rounded down to a whole cent.
    static func shareCap(_ d: RoutingRules.Deposit, base: Int64) -> Int64 {
        d.maximumSharePercent >= 100 ? base : Int64((Double(base) * d.maximumSharePercent / 100).rounded(.down))
    }

    static func choosePath(_ p: PlanAccepted.Patient, sameVisitEnabled: Bool) -> (CasePath, String) {
        if p.inOffice == true && sameVisitEnabled {
            return (.sameVisit, "path same_visit: patient still in the office")
        }
        let sms = p.phone != nil && p.smsConsent
        let email = p.email != nil && p.emailConsent != false
        switch p.preferred {
        case .sms where sms: return (.selfBook, "path self_book: sms with consent")
        case .email where email: return (.selfBook, "path self_book: email")
        case .phone: return (.callback, "path callback: patient prefers a phone call")
        case .sms, .email, .none: break
        }
        if sms { return (.selfBook, "path self_book: sms with consent (preferred channel unavailable)") }
        if email { return (.selfBook, "path self_book: email (preferred channel unavailable)") }
        return (.callback, "path callback: no channel with consent")
    }
}

extension RoutingRules {
    static func formatPercent(_ p: Double) -> String { p == p.rounded() ? String(Int(p)) : String(p) }
}

extension RoutingRules {
    /// `12 weeks`, `10 days`, `36 h`, `90 min`: the largest unit that divides the duration evenly.
    public static func showDuration(_ seconds: Int) -> String {
        if seconds >= 7 * 86_400, seconds % (7 * 86_400) == 0 { return "\(seconds / (7 * 86_400)) week\(seconds == 7 * 86_400 ? "" : "s")" }
        if seconds >= 86_400, seconds % 86_400 == 0 { return "\(seconds / 86_400) day\(seconds == 86_400 ? "" : "s")" }
        if seconds >= 3600, seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}
