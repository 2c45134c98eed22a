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
        let tier = best ?? rules.tier(named: rules.defaultTier)!
        if plan.procedures.count > 1 {
            reasons.append("highest tier of \(plan.procedures.count) procedures: \(tier.name) (\(bestReason))")
        }

        // Chair time: the PMS's minutes win, then the code, then its range, then the default.
        var minutes = 0
        var parts: [String] = []
        for p in plan.procedures {
            if let m = p.minutes {
                minutes += m
                parts.append("\(p.code) \(m) (PMS)")
            } else if let m = rules.chairMinutes.byCode[p.code] {
                minutes += m
                parts.append("\(p.code) \(m) (code rule)")
            } else if let r = rules.chairMinutes.byRange.first(where: { $0.range.contains(code: p.code) }) {
                minutes += r.minutes
                parts.append("\(p.code) \(r.minutes) (\(r.range))")
            } else {
                minutes += rules.chairMinutes.defaultMinutes
                parts.append("\(p.code) \(rules.chairMinutes.defaultMinutes) (default)")
            }
        }
        var chairReason = "chair time \(minutes) min: " + parts.joined(separator: " + ")
        if minutes > rules.maximumChairMinutes {
            chairReason += "; capped at \(rules.maximumChairMinutes) min for one visit"
            minutes = rules.maximumChairMinutes
        }
        minutes = max(minutes, 5)
        reasons.append(chairReason)

        // Deposit on the patient's portion when known, else the plan total.
        let base = plan.patientPortionCents ?? value
        let baseName = plan.patientPortionCents != nil ? "patient portion" : "plan total"
        let (deposit, depositReason) = computeDeposit(tier.deposit, base: base, baseName: baseName)
        reasons.append(depositReason)
        reasons.append("first-offer SLA \(tier.firstOfferSLASeconds / 60) min (\(tier.name))")

        // Path.
        let (path, pathReason) = choosePath(plan.patient, sameVisitEnabled: rules.offer.sameVisitEnabled)
        reasons.append(pathReason)

        let role = plan.procedures.compactMap(\.role).first { $0 != .any } ?? tier.providerRole.flatMap(ProviderRole.init(rawValue:))
        return Classification(
            tier: Tier(tier.name), path: path, chairMinutes: minutes, valueCents: value, depositCents: deposit,
            firstOfferSLASeconds: tier.firstOfferSLASeconds, holdWindowSeconds: tier.holdWindowSeconds, providerRole: role,
            rulesVersion: rulesVersion, reasons: reasons)
    }

    static func computeDeposit(_ d: RoutingRules.Deposit, base: Int64, baseName: String) -> (Int64, String) {
        if let fixed = d.fixedCents {
            let amount = min(fixed, base)
            return (amount, amount == 0 ? "no deposit" : "deposit \(amount) cents (fixed)")
        }
        let percent = d.percent ?? 0
        // Integer cents, rounded half up; never floating point money in the result.
        let raw = Int64((Double(base) * percent / 100).rounded(.toNearestOrAwayFromZero))
        var amount = max(raw, d.minimumCents)
        var reason = "deposit \(amount) cents: \(RoutingRules.formatPercent(percent))% of \(baseName) \(base) = \(raw)"
        if amount != raw { reason += ", raised to minimum \(d.minimumCents)" }
        if let mx = d.maximumCents, amount > mx {
            amount = mx
            reason += ", capped at maximum \(mx)"
        }
        if amount > base {
            amount = base
            reason += ", limited to the \(baseName)"
        }
        return (amount, reason)
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
