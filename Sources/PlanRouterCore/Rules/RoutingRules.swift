/// How cases are classified, offered and escalated, for one organization (with
/// per-location overrides already applied by `resolved(for:)`).
public struct RoutingRules: Sendable, Hashable {
    public struct CodeMatch: Sendable, Hashable {
        public var codes: Set<String> = []
        public var ranges: [CDTRange] = []
        public var prefixes: [String] = []
        /// Codes and ranges carved out of `ranges`/`prefixes` (`except`), e.g. periodontal hygiene
        /// (scaling and root planing) inside the perio range that routes as restorative.
        public var exceptCodes: Set<String> = []
        public var exceptRanges: [CDTRange] = []

        /// How this code matched, for the explanation; nil when it does not.
        public func explain(_ code: String) -> String? {
            if codes.contains(code) { return "\(code) listed" }
            if exceptCodes.contains(code) || exceptRanges.contains(where: { $0.contains(code: code) }) { return nil }
            if let r = ranges.first(where: { $0.contains(code: code) }) { return "\(code) in \(r)" }
            if let p = prefixes.first(where: { code.hasPrefix($0) }) { return "\(code) starts with \(p)" }
            return nil
        }
    }

    public struct Deposit: Sendable, Hashable {
        public var fixedCents: Int64?
        public var percent: Double?
        public var minimumCents: Int64 = 0
        public var maximumCents: Int64?
        /// The most a deposit may take of the amount it is computed on (`max_share`, percent). A tier
        /// minimum must not turn into the whole fee of a small case; 100 allows it deliberately.
        public var maximumSharePercent: Double = 50
        /// When the deposit is asked for (`policy`); a tier that sets none books first.
        public var policy: DepositPolicy = .depositAfterBooking
        /// How long a provisional booking keeps its hold waiting for the deposit (`hold`, deposit_to_confirm only).
        public var holdSeconds: Int = 2 * 3600
        public static let zero = Deposit(fixedCents: 0)
    }

    public enum LadderAction: String, Sendable, Hashable, CaseIterable {
        case nudge
        case coordinatorTask = "coordinator_task"
    }

    public struct LadderStep: Sendable, Hashable {
        public var afterSeconds: Int
        public var action: LadderAction

        public init(afterSeconds: Int, action: LadderAction) {
            self.afterSeconds = afterSeconds
            self.action = action
        }
    }

    /// A tier's typical case (the tier table of DESIGN.md): its value and chair-time ranges.
    /// A case below both minimums is not this tier's kind of case, whatever its codes say
    /// (a $180 simple extraction is not a full-arch case), and moves to the `smaller` tier.
    public struct Typical: Sendable, Hashable {
        public var minimumValueCents: Int64
        public var maximumValueCents: Int64
        public var minimumChairMinutes: Int
        public var maximumChairMinutes: Int
        /// Where a smaller case goes (`smaller`); nil = it stays in this tier.
        public var smallerTier: String?

        public init(
            minimumValueCents: Int64, maximumValueCents: Int64, minimumChairMinutes: Int, maximumChairMinutes: Int,
            smallerTier: String? = nil
        ) {
            self.minimumValueCents = minimumValueCents
            self.maximumValueCents = maximumValueCents
            self.minimumChairMinutes = minimumChairMinutes
            self.maximumChairMinutes = maximumChairMinutes
            self.smallerTier = smallerTier
        }

        public func containsValue(_ cents: Int64) -> Bool { cents >= minimumValueCents && cents <= maximumValueCents }
        /// Both below the minimums: value and chair time agree the case is smaller than this tier.
        public func isBelow(valueCents: Int64, chairMinutes: Int) -> Bool {
            valueCents < minimumValueCents && chairMinutes < minimumChairMinutes
        }
    }

    public struct Tier: Sendable, Hashable {
        public var name: String
        /// Higher wins when a plan's procedures fall into several tiers.
        public var priority: Int
        public var match: CodeMatch
        /// Optional value band on the plan's total: the tier applies only within it.
        public var minimumValueCents: Int64?
        public var maximumValueCents: Int64?
        /// The typical value and chair time (`typical`); nil = codes alone decide.
        public var typical: Typical?
        public var deposit: Deposit
        public var firstOfferSLASeconds: Int
        public var holdWindowSeconds: Int
        public var ladder: [LadderStep]
        /// The provider role required when the plan does not name one per procedure.
        public var providerRole: String?
        /// Roles whose providers may be offered, in this order, when no provider with the case's required
        /// role has an opening (`role_fallback`); empty = the required role is a hard constraint.
        public var roleFallback: [String] = []

        public func acceptsValue(_ cents: Int64) -> Bool {
            (minimumValueCents.map { cents >= $0 } ?? true) && (maximumValueCents.map { cents <= $0 } ?? true)
        }
    }

    public struct ChairMinutes: Sendable, Hashable {
        public var defaultMinutes: Int = 30
        public var byCode: [String: Int] = [:]
        public var byRange: [(range: CDTRange, minutes: Int)] = []

        public static func == (a: ChairMinutes, b: ChairMinutes) -> Bool {
            a.defaultMinutes == b.defaultMinutes && a.byCode == b.byCode
                && a.byRange.map(\.range) == b.byRange.map(\.range) && a.byRange.map(\.minutes) == b.byRange.map(\.minutes)
        }
        public func hash(into h: inout Hasher) {
            h.combine(defaultMinutes)
            h.combine(byCode)
            for r in byRange {
                h.combine(r.range)
                h.combine(r.minutes)
            }
        }
    }

    /// Offer settings (used by the offer worker).
    public struct Offer: Sendable, Hashable {
        public var openings: Int = 3
        public var horizonDays: Int = 90
        public var sameVisitBufferMinutes: Int = 15
        public var spreadOverDays: Bool = true
        public var sameVisitEnabled: Bool = true
        /// A self-book link may offer today's openings that start at least this long from now
        /// (the patient has left and needs time to come back); 0 offers from the next business day.
        public var sameDayLeadMinutes: Int = 120
    }

    public struct QuietHours: Sendable, Hashable {
        /// Minutes after local midnight.
        public var startMinute: Int = 20 * 60
        public var endMinute: Int = 8 * 60

        public init(startMinute: Int = 20 * 60, endMinute: Int = 8 * 60) {
            self.startMinute = startMinute
            self.endMinute = endMinute
        }
    }

    public var tiers: [Tier]
    public var defaultTier: String
    public var chairMinutes: ChairMinutes
    public var maximumChairMinutes: Int = 480
    public var offer: Offer
    public var quietHours: QuietHours
    public var messages = MessageTemplates()
    /// How a plan is split into visits (`visits`), in file order: the first rule matching a code wins.
    public var visits: [VisitRule] = []
    public var locationOverrides: [String: LocationOverride]

    public func tier(named name: String) -> Tier? { tiers.first { $0.name == name } }

    /// These rules with a location's overrides applied.
    public func resolved(for locationID: String) -> RoutingRules {
        guard let o = locationOverrides[locationID] else { return self }
        var r = self
        for (name, t) in o.tiers {
            guard let i = r.tiers.firstIndex(where: { $0.name == name }) else { continue }
            if let d = t.deposit { r.tiers[i].deposit = d }
            if let s = t.firstOfferSLASeconds { r.tiers[i].firstOfferSLASeconds = s }
            if let h = t.holdWindowSeconds { r.tiers[i].holdWindowSeconds = h }
            if let l = t.ladder { r.tiers[i].ladder = l }
        }
        for (k, v) in o.chairMinutesByCode { r.chairMinutes.byCode[k] = v }
        if let d = o.defaultChairMinutes { r.chairMinutes.defaultMinutes = d }
        if let q = o.quietHours { r.quietHours = q }
        if let s = o.sameVisitEnabled { r.offer.sameVisitEnabled = s }
        r.locationOverrides = [:]
        return r
    }
}

/// What a location may change: tier timings and deposits, chair minutes, quiet hours.
public struct LocationOverride: Sendable, Hashable {
    public struct TierOverride: Sendable, Hashable {
        public var deposit: RoutingRules.Deposit?
        public var firstOfferSLASeconds: Int?
        public var holdWindowSeconds: Int?
        public var ladder: [RoutingRules.LadderStep]?
    }
    public var tiers: [String: TierOverride] = [:]
    public var chairMinutesByCode: [String: Int] = [:]
    public var defaultChairMinutes: Int?
    public var quietHours: RoutingRules.QuietHours?
    public var sameVisitEnabled: Bool?
}
