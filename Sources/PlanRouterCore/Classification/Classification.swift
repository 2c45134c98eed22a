/// How a case reaches the patient.
public enum CasePath: String, Sendable, Hashable, CaseIterable {
    /// The patient is still in the office: today's openings to the front desk and the patient.
    case sameVisit = "same_visit"
    /// The patient left: the next openings and a signed link by SMS or email.
    case selfBook = "self_book"
    /// No channel with consent: a coordinator calls.
    case callback
}

/// The outcome of classifying one accepted plan, with the reasons that explain it.
public struct Classification: Sendable, Hashable {
    public var tier: Tier
    public var path: CasePath
    public var chairMinutes: Int
    public var valueCents: Int64
    public var depositCents: Int64
    public var firstOfferSLASeconds: Int
    public var holdWindowSeconds: Int
    /// The role the slot search requires (a procedure's, else the tier's).
    public var providerRole: ProviderRole?
    public var rulesVersion: Int
    public var reasons: [String]
    /// The plan's visits (docs/rules.md#visits); the fields above describe visit 1, offered now.
    public var visits: [PlannedVisit] = []

    /// One line, e.g. `D6010 in D6000-D6199 -> surgical; 120 min; deposit 50000 cents; SLA 15 min`.
    public var summary: String {
        let tierReason = reasons.first { $0.hasSuffix("-> \(tier)") } ?? "-> \(tier)"
        return
            "\(tierReason); \(chairMinutes) min; deposit \(depositCents) cents; SLA \(firstOfferSLASeconds / 60) min; path \(path.rawValue)"
    }
}
