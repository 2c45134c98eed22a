import Foundation
import Yams

/// One problem in a rules file, located by its YAML path (and line when known).
public struct RulesError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String
    public var description: String {
        "\(path.isEmpty ? "(root)" : path)\(line.map { " (line \($0))" } ?? ""): \(message)"
    }
}

/// All problems of a rules file at once, so an operator fixes them in one pass.
public struct RulesValidationError: Error, Sendable, CustomStringConvertible {
    public var errors: [RulesError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension RoutingRules {
    /// The shipped defaults (the tier table of DESIGN.md).
    public static let defaults: RoutingRules = {
        do { return try RoutingRules(yaml: defaultYAML) } catch { fatalError("shipped default rules are invalid: \(error)") }
    }()

    /// The text of the shipped default rules file.
    public static var defaultYAML: String {
        guard let url = Bundle.module.url(forResource: "default", withExtension: "yaml", subdirectory: "DefaultRules"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("default rules missing from the bundle") }
        return text
    }

    /// Parses and validates a rules file; throws `RulesValidationError` listing every problem.
    public init(yaml: String) throws {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: yaml) else {
                throw RulesValidationError(errors: [RulesError(path: "", line: nil, message: "the file is empty")])
            }
            root = n
        } catch let e as RulesValidationError {
            throw e
        } catch {
            throw RulesValidationError(errors: [RulesError(path: "", line: nil, message: "not valid YAML: \(error)")])
        }
        var reader = RulesReader()
        let rules = reader.read(root)
        if !reader.errors.isEmpty { throw RulesValidationError(errors: reader.errors) }
        self = rules!
    }
}

/// Walks the YAML tree, collecting every error with its path instead of stopping at the first.
struct RulesReader {
    /// `^[a-z][a-z0-9_-]{0,39}$`, checked on bytes: a regular expression here would load
    /// Foundation's and ICU's regex engine for one check (and ICU's `$` accepts a final newline).
    static func isTierDefinitionName(_ s: String) -> Bool {
        let u = s.utf8
        guard let first = u.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), u.count <= 40 else { return false }
        return u.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    var errors: [RulesError] = []

    /// Provider roles of the event contract (schemas: provider_role).
    static let roles: Set<String> = [
        "dentist", "hygienist", "oral_surgeon", "periodontist", "endodontist", "orthodontist", "prosthodontist", "injector", "aesthetician",
    ]

    mutating func fail(_ path: String, _ node: Node?, _ message: String) {
        errors.append(RulesError(path: path, line: node?.mark.map { $0.line }, message: message))
    }

    func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func mapping(_ node: Node?, _ path: String, allowed: Set<String>) -> [(String, Node)]? {
        guard let node else { return nil }
        guard let m = node.mapping else {
            fail(path, node, "expected a mapping")
            return nil
        }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard let key = k.scalar?.string else {
                fail(path, k, "keys must be strings")
                continue
            }
            if !allowed.isEmpty, !allowed.contains(key) {
                fail(child(path, key), k, "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            out.append((key, v))
        }
        return out
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard let s = node.scalar?.string, !s.isEmpty else {
            fail(path, node, "expected a non-empty string")
            return nil
        }
        return s
    }

    mutating func int(_ node: Node, _ path: String, _ range: ClosedRange<Int64>) -> Int64? {
        guard let s = node.scalar?.string, let v = Int64(s) else {
            fail(path, node, "expected an integer")
            return nil
        }
        guard range.contains(v) else {
            fail(path, node, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return v
    }

    /// `role_fallback` (of a tier or a visit rule): known roles, in order, no duplicates.
    mutating func readRoleFallback(_ node: Node, _ path: String) -> [String] {
        var roles: [String] = []
        for (i, item) in (list(node, path) ?? []).enumerated() {
            let ip = "\(path)[\(i)]"
            guard let role = string(item, ip) else { continue }
            if !RulesReader.roles.contains(role) {
                fail(ip, item, "unknown role (one of \(RulesReader.roles.sorted().joined(separator: ", ")))")
            } else if roles.contains(role) {
                fail(ip, item, "duplicate role \(role)")
            } else {
                roles.append(role)
            }
        }
        return roles
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(path, node, "expected true or false")
            return nil
        }
    }

    mutating func list(_ node: Node, _ path: String) -> [Node]? {
        guard let s = node.sequence else {
            fail(path, node, "expected a list")
            return nil
        }
        return Array(s)
    }

    /// "90s", "15m", "48h", "2d", "12w", "1h30m".
    mutating func duration(_ node: Node, _ path: String) -> Int? {
        guard let s = node.scalar?.string, let v = RulesReader.parseDuration(s) else {
            fail(path, node, "expected a duration such as 15m, 48h or 2d")
            return nil
        }
        return v
    }

    static func parseDuration(_ s: String) -> Int? {
        var total = 0
        var number = ""
        var sawUnit = false
        for c in s {
            if c.isNumber {
                number.append(c)
                continue
            }
            guard let n = Int(number) else { return nil }
            switch c {
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            case "d": total += n * 86400
            case "w": total += n * 7 * 86400
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        return number.isEmpty && sawUnit && total > 0 ? total : nil
    }

    /// "20:00" -> 1200 (minutes after midnight).
    mutating func clock(_ node: Node, _ path: String) -> Int? {
        let parts = (node.scalar?.string ?? "").split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else {
            fail(path, node, "expected a local time HH:MM")
            return nil
        }
        return h * 60 + m
    }

    mutating func read(_ root: Node) -> RoutingRules? {
        let top = mapping(
            root, "",
            allowed: [
                "format", "organization", "default_tier", "tiers", "chair_minutes", "max_chair_minutes", "offer", "quiet_hours", "messages",
                "locations", "visits",
            ])
        guard let top else { return nil }
        var tiers: [RoutingRules.Tier] = []
        var defaultTier: String?
        var chair = RoutingRules.ChairMinutes()
        var maxChair = 480
        var offer = RoutingRules.Offer()
        var quiet = RoutingRules.QuietHours()
        var messages = MessageTemplates()
        var overrides: [String: LocationOverride] = [:]
        var visits: [RoutingRules.VisitRule] = []
        var sawTiers = false
        var tierPaths: [String] = []  // the YAML path of each tier read, for errors found later
        for (key, node) in top {
            let path = key
            switch key {
            case "format":
                if node.scalar?.string != "planrouter.rules/v1" { fail(path, node, "must be planrouter.rules/v1") }
            case "organization": _ = string(node, path)
            case "default_tier": defaultTier = string(node, path)
            case "tiers":
                sawTiers = true
                for (i, t) in (list(node, path) ?? []).enumerated() {
                    if let tier = readTier(t, "tiers[\(i)]") {
                        if tiers.contains(where: { $0.name == tier.name }) {
                            fail("tiers[\(i)].name", t, "duplicate tier name \(tier.name)")
                        }
                        tiers.append(tier)
                        tierPaths.append("tiers[\(i)]")
                    }
                }
            case "chair_minutes": chair = readChairMinutes(node, path) ?? chair
            case "max_chair_minutes": maxChair = Int(int(node, path, 15...1440) ?? 480)
            case "offer": offer = readOffer(node, path) ?? offer
            case "quiet_hours": quiet = readQuietHours(node, path) ?? quiet
            case "messages": messages = readMessages(node, path)
            case "visits": visits = readVisits(node, path)
            case "locations":
                for (loc, o) in mapping(node, path, allowed: []) ?? [] {
                    if let lo = readOverride(o, child(path, loc)) { overrides[loc] = lo }
                }
            default: break
            }
        }
        if !sawTiers { fail("tiers", nil, "at least one tier is required") }
        if let d = defaultTier {
            if !tiers.contains(where: { $0.name == d }) { fail("default_tier", nil, "names no tier (\(d))") }
        } else {
            fail("default_tier", nil, "is required: the tier for codes no tier matches")
        }
        for (t, path) in zip(tiers, tierPaths) {
            guard let name = t.typical?.smallerTier else { continue }
            if let target = tiers.first(where: { $0.name == name }) {
                if target.priority >= t.priority { fail("\(path).typical.smaller", nil, "must name a tier of lower priority (\(name))") }
            } else {
                fail("\(path).typical.smaller", nil, "names no tier (\(name))")
            }
        }
        for (loc, o) in overrides {
            for name in o.tiers.keys where !tiers.contains(where: { $0.name == name }) {
                fail("locations.\(loc).tiers.\(name)", nil, "names no tier")
            }
        }
        guard errors.isEmpty, let defaultTier else { return nil }
        return RoutingRules(
            tiers: tiers.sorted { $0.priority > $1.priority }, defaultTier: defaultTier, chairMinutes: chair,
            maximumChairMinutes: maxChair, offer: offer, quietHours: quiet, messages: messages, visits: visits, locationOverrides: overrides
        )
    }

    mutating func readTier(_ node: Node, _ path: String) -> RoutingRules.Tier? {
        let entries = mapping(
            node, path,
            allowed: [
                "name", "priority", "match", "value", "typical", "deposit", "first_offer_sla", "hold_window", "ladder", "provider_role",
                "role_fallback",
            ])
        guard let entries else { return nil }
        let before = errors.count
        var t = RoutingRules.Tier(
            name: "", priority: 0, match: .init(), deposit: .zero, firstOfferSLASeconds: 1800, holdWindowSeconds: 48 * 3600,
            ladder: [])
        var sawName = false
        var sawMatch = false
        var sawSLA = false
        for (key, v) in entries {
            let p = child(path, key)
            switch key {
            case "name":
                sawName = true
                if let s = string(v, p) {
                    if !RulesReader.isTierDefinitionName(s) {
                        fail(p, v, "must be lowercase letters, digits, _ or - (at most 40)")
                    }
                    t.name = s
                }
            case "priority": t.priority = Int(int(v, p, 0...1_000_000) ?? 0)
            case "match":
                sawMatch = true
                t.match = readMatch(v, p) ?? t.match
            case "value":
                for (k, x) in mapping(v, p, allowed: ["min_cents", "max_cents"]) ?? [] {
                    let value = int(x, child(p, k), 0...100_000_000)
                    if k == "min_cents" { t.minimumValueCents = value } else { t.maximumValueCents = value }
                }
            case "typical": t.typical = readTypical(v, p)
            case "deposit": t.deposit = readDeposit(v, p) ?? t.deposit
            case "first_offer_sla":
                sawSLA = true
                t.firstOfferSLASeconds = duration(v, p) ?? 0
            case "hold_window": t.holdWindowSeconds = duration(v, p) ?? 0
            case "ladder": t.ladder = readLadder(v, p) ?? []
            case "provider_role":
                if let role = string(v, p) {
                    if RulesReader.roles.contains(role) {
                        t.providerRole = role
                    } else {
                        fail(p, v, "unknown role (one of \(RulesReader.roles.sorted().joined(separator: ", ")))")
                    }
                }
            case "role_fallback":
                t.roleFallback = readRoleFallback(v, p)
            default: break
            }
        }
        if !sawName { fail(child(path, "name"), node, "is required") }
        if !sawMatch { fail(child(path, "match"), node, "is required (codes, ranges or prefixes)") }
        if !sawSLA { fail(child(path, "first_offer_sla"), node, "is required") }
        return errors.count == before ? t : nil
    }

    mutating func readMatch(_ node: Node, _ path: String) -> RoutingRules.CodeMatch? {
        var m = RoutingRules.CodeMatch()
        for (key, v) in mapping(node, path, allowed: ["codes", "ranges", "prefixes", "except"]) ?? [] {
            let p = child(path, key)
            for (i, item) in (list(v, p) ?? []).enumerated() {
                let ip = "\(p)[\(i)]"
                guard let s = string(item, ip) else { continue }
                switch key {
                case "codes": m.codes.insert(s)
                case "ranges":
                    if let r = CDTRange(s) {
                        m.ranges.append(r)
                    } else {
                        fail(ip, item, CDTRange.problem(s) ?? "expected a CDT range such as D6000-D6199")
                    }
                case "except":
                    // A range (D4341-D4342) or a single code.
                    if s.contains("-"), let r = CDTRange(s) { m.exceptRanges.append(r) } else { m.exceptCodes.insert(s) }
                default: m.prefixes.append(s)
                }
            }
        }
        if m.codes.isEmpty, m.ranges.isEmpty, m.prefixes.isEmpty { fail(path, node, "matches no code: give codes, ranges or prefixes") }
        return m
    }

    mutating func readDeposit(_ node: Node, _ path: String) -> RoutingRules.Deposit? {
        var d = RoutingRules.Deposit()
        var sawKind = false
        for (key, v) in mapping(node, path, allowed: ["fixed_cents", "percent", "min_cents", "max_cents", "max_share", "policy", "hold"])
            ?? []
        {
            let p = child(path, key)
            switch key {
            case "fixed_cents":
                sawKind = true
                d.fixedCents = int(v, p, 0...100_000_000)
            case "percent":
                sawKind = true
                guard let s = v.scalar?.string, let x = Double(s), x >= 0, x <= 100 else {
                    fail(p, v, "expected a percentage between 0 and 100")
                    continue
                }
                d.percent = x
            case "min_cents": d.minimumCents = int(v, p, 0...100_000_000) ?? 0
            case "max_share":
                guard let s = v.scalar?.string, let x = Double(s), x > 0, x <= 100 else {
                    fail(p, v, "expected a percentage above 0 and at most 100")
                    continue
                }
                d.maximumSharePercent = x
            case "policy":
                guard let s = string(v, p) else { continue }
                if let policy = DepositPolicy(rawValue: s) {
                    d.policy = policy
                } else {
                    fail(p, v, "expected \(DepositPolicy.allCases.map(\.rawValue).joined(separator: " or "))")
                }
            case "hold":
                // Stripe Checkout sessions last 30 minutes to 24 hours; the hold is the session's life.
                if let seconds = duration(v, p) {
                    if seconds < 1800 || seconds > 86400 { fail(p, v, "must be between 30m and 24h") } else { d.holdSeconds = seconds }
                }
            default: d.maximumCents = int(v, p, 0...100_000_000)
            }
        }
        if !sawKind { fail(path, node, "give fixed_cents or percent") }
        if d.fixedCents != nil, d.percent != nil { fail(path, node, "give fixed_cents or percent, not both") }
        if let mx = d.maximumCents, mx < d.minimumCents { fail(child(path, "max_cents"), node, "is below min_cents") }
        return d
    }

    /// `typical: { value: { min_cents, max_cents }, chair_minutes: { min, max }, smaller: TIER }`; the
    /// four bounds are required, `smaller` is optional (checked against the tiers once all are read).
    mutating func readTypical(_ node: Node, _ path: String) -> RoutingRules.Typical? {
        var value: (Int64?, Int64?) = (nil, nil)
        var chair: (Int64?, Int64?) = (nil, nil)
        let before = errors.count
        var smaller: String?
        for (key, v) in mapping(node, path, allowed: ["value", "chair_minutes", "smaller"]) ?? [] {
            let p = child(path, key)
            if key == "smaller" {
                smaller = string(v, p)
            } else if key == "value" {
                for (k, x) in mapping(v, p, allowed: ["min_cents", "max_cents"]) ?? [] {
                    let n = int(x, child(p, k), 0...100_000_000)
                    if k == "min_cents" { value.0 = n } else { value.1 = n }
                }
            } else {
                for (k, x) in mapping(v, p, allowed: ["min", "max"]) ?? [] {
                    let n = int(x, child(p, k), 5...1440)
                    if k == "min" { chair.0 = n } else { chair.1 = n }
                }
            }
        }
        guard errors.count == before else { return nil }
        guard let vmin = value.0, let vmax = value.1, let cmin = chair.0, let cmax = chair.1 else {
            fail(path, node, "give value { min_cents, max_cents } and chair_minutes { min, max }")
            return nil
        }
        if vmax < vmin { fail(child(path, "value.max_cents"), node, "is below min_cents") }
        if cmax < cmin { fail(child(path, "chair_minutes.max"), node, "is below min") }
        guard errors.count == before else { return nil }
        return .init(
            minimumValueCents: vmin, maximumValueCents: vmax, minimumChairMinutes: Int(cmin), maximumChairMinutes: Int(cmax),
            smallerTier: smaller)
    }

    mutating func readLadder(_ node: Node, _ path: String) -> [RoutingRules.LadderStep]? {
        var steps: [RoutingRules.LadderStep] = []
        for (i, item) in (list(node, path) ?? []).enumerated() {
            let ip = "\(path)[\(i)]"
            var after: Int?
            var action: RoutingRules.LadderAction?
            for (key, v) in mapping(item, ip, allowed: ["after", "action"]) ?? [] {
                if key == "after" {
                    after = duration(v, child(ip, key))
                } else {
                    action = RoutingRules.LadderAction(rawValue: v.scalar?.string ?? "")
                    if action == nil { fail(child(ip, key), v, "must be nudge or coordinator_task") }
                }
            }
            guard let after, let action else {
                if after == nil, action != nil { fail(child(ip, "after"), item, "is required") }
                continue
            }
            if let last = steps.last, last.afterSeconds >= after { fail(child(ip, "after"), item, "must be later than the step before") }
            steps.append(.init(afterSeconds: after, action: action))
        }
        if let last = steps.last, last.action != .coordinatorTask {
            fail(path, node, "must end with a coordinator_task, so every case reaches a person")
        }
        return steps
    }

    mutating func readChairMinutes(_ node: Node, _ path: String) -> RoutingRules.ChairMinutes? {
        var c = RoutingRules.ChairMinutes()
        for (key, v) in mapping(node, path, allowed: ["default", "codes", "ranges"]) ?? [] {
            let p = child(path, key)
            switch key {
            case "default": c.defaultMinutes = Int(int(v, p, 5...480) ?? 30)
            case "codes":
                for (code, m) in mapping(v, p, allowed: []) ?? [] { c.byCode[code] = Int(int(m, child(p, code), 5...480) ?? 30) }
            default:
                for (r, m) in mapping(v, p, allowed: []) ?? [] {
                    guard let range = CDTRange(r) else {
                        fail(child(p, r), v, "expected a CDT range such as D6000-D6199")
                        continue
                    }
                    c.byRange.append((range, Int(int(m, child(p, r), 5...480) ?? 30)))
                }
            }
        }
        return c
    }

    mutating func readOffer(_ node: Node, _ path: String) -> RoutingRules.Offer? {
        var o = RoutingRules.Offer()
        for (key, v) in mapping(
            node, path, allowed: ["openings", "horizon_days", "same_visit_buffer", "spread_over_days", "same_visit", "same_day_lead"])
            ?? []
        {
            let p = child(path, key)
            switch key {
            case "openings": o.openings = Int(int(v, p, 1...10) ?? 3)
            case "horizon_days": o.horizonDays = Int(int(v, p, 1...365) ?? 90)
            case "same_visit_buffer": o.sameVisitBufferMinutes = (duration(v, p) ?? 900) / 60
            case "spread_over_days": o.spreadOverDays = bool(v, p) ?? true
            case "same_day_lead":
                // `off` (or 0) offers from the next business day only.
                let off = ["off", "false", "0"].contains(v.scalar?.string ?? "")
                o.sameDayLeadMinutes = off ? 0 : (duration(v, p) ?? 7200) / 60
            default: o.sameVisitEnabled = bool(v, p) ?? true
            }
        }
        return o
    }

    mutating func readQuietHours(_ node: Node, _ path: String) -> RoutingRules.QuietHours? {
        var q = RoutingRules.QuietHours()
        for (key, v) in mapping(node, path, allowed: ["start", "end"]) ?? [] {
            if key == "start" {
                q.startMinute = clock(v, child(path, key)) ?? q.startMinute
            } else {
                q.endMinute = clock(v, child(path, key)) ?? q.endMinute
            }
        }
        return q
    }

    mutating func readMessages(_ node: Node, _ path: String) -> MessageTemplates {
        var m = MessageTemplates()
        let keys: [String: WritableKeyPath<MessageTemplates, String>] = [
            "offer_sms": \.offerSMS, "offer_email_subject": \.offerEmailSubject, "offer_email": \.offerEmail, "nudge_sms": \.nudgeSMS,
            "same_visit_sms": \.sameVisitSMS, "deposit_line": \.depositLine,
        ]
        for (key, v) in mapping(node, path, allowed: Set(keys.keys)) ?? [] {
            guard let text = string(v, child(path, key)) else { continue }
            let unknown = MessageTemplates.unknownPlaceholders(in: text)
            if !unknown.isEmpty {
                fail(
                    child(path, key), v,
                    "unknown placeholder \(unknown.map { "{\($0)}" }.joined(separator: ", ")); use \(MessageTemplates.placeholders.sorted().map { "{\($0)}" }.joined(separator: ", "))"
                )
                continue
            }
            m[keyPath: keys[key]!] = text
        }
        return m
    }

    mutating func readOverride(_ node: Node, _ path: String) -> LocationOverride? {
        var o = LocationOverride()
        for (key, v) in mapping(node, path, allowed: ["tiers", "chair_minutes", "quiet_hours", "same_visit"]) ?? [] {
            let p = child(path, key)
            switch key {
            case "tiers":
                for (name, t) in mapping(v, p, allowed: []) ?? [] {
                    var to = LocationOverride.TierOverride()
                    let tp = child(p, name)
                    for (k, x) in mapping(t, tp, allowed: ["deposit", "first_offer_sla", "hold_window", "ladder"]) ?? [] {
                        switch k {
                        case "deposit": to.deposit = readDeposit(x, child(tp, k))
                        case "first_offer_sla": to.firstOfferSLASeconds = duration(x, child(tp, k))
                        case "hold_window": to.holdWindowSeconds = duration(x, child(tp, k))
                        default: to.ladder = readLadder(x, child(tp, k))
                        }
                    }
                    o.tiers[name] = to
                }
            case "chair_minutes":
                if let c = readChairMinutes(v, p) {
                    o.chairMinutesByCode = c.byCode
                    if v.mapping?["default"] != nil { o.defaultChairMinutes = c.defaultMinutes }
                }
            case "quiet_hours": o.quietHours = readQuietHours(v, p)
            default: o.sameVisitEnabled = bool(v, p)
            }
        }
        return o
    }
}
