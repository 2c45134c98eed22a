import Foundation

/// In-memory search for open appointment slots in a `LocationCalendar`.
///
/// How it works: each eligible provider yields its openings in start order (`earliestOpening`);
/// the search repeatedly takes the earliest across providers (ties: provider order in the calendar).
/// Within a schedule block a candidate start moves forward only by jumps: on a conflict with a busy
/// range, blockout or earlier pick it jumps to that range's end, aligned up to the increment in
/// local time; on a preference miss it jumps to the next local part of the day / local day.
/// Busy lists are sorted and merged, so each check is a binary search.
///
/// Rules (documented choices):
/// - Blocks of one provider that touch or overlap and have the same operatory set are merged, so an
///   opening may span them. Blocks with different operatory sets are not merged.
/// - The openings returned can all be held at once: a later pick never overlaps an earlier one for
///   the same provider or the same operatory. Without `spreadOverDays` this means a provider's next
///   opening starts at or after the end of its previous one (no 9:00, 9:10, 9:20 for one chair).
/// - With `spreadOverDays`, at most one opening per local day: the earliest of that day across all
///   eligible providers.
/// - The operatory is the first free one in the block's list (or the provider's list when the block
///   names none).
public enum SlotSearch {
    /// Whose openings a search returned (for the offer's history).
    public enum ProviderMatch: Sendable, Hashable {
        /// The preferred (treating) provider, who has the required role.
        case preferredProvider(String)
        /// Any provider with the required role (nil: no role was required).
        case requiredRole(String?)
        /// No provider with the required role had an opening; providers with this fallback role did.
        case fallbackRole(String)
    }

    public struct Result: Sendable, Hashable {
        public var openings: [Opening]
        /// Nil when nothing was found.
        public var match: ProviderMatch?
    }

    /// The openings of the request's providers; see `SlotRequest` for who is eligible and in which order.
    public static func find(_ request: SlotRequest, in calendar: LocationCalendar) -> [Opening] {
        search(request, in: calendar).openings
    }

    /// The openings and whose they are: the preferred provider's if it is eligible and has any, else
    /// the earliest of every provider with the required role, else (in order) of every provider with
    /// a fallback role.
    public static func search(_ request: SlotRequest, in calendar: LocationCalendar) -> Result {
        guard request.count > 0, request.durationMinutes > 0, request.earliest < request.latest else { return Result(openings: []) }
        func eligible(_ role: String?) -> [Int] {
            calendar.providers.indices.filter { isEligible(calendar.providers[$0], for: request, role: role) }
        }
        func run(_ providers: [Int]) -> [Opening] {
            if providers.isEmpty { return [] }
            var search = Search(request: request, calendar: calendar)
            return search.run(providers)
        }
        let required = eligible(request.providerRole)
        if let preferred = request.preferredProviderID, let i = required.first(where: { calendar.providers[$0].providerID == preferred }) {
            let own = run([i])
            if !own.isEmpty { return Result(openings: own, match: .preferredProvider(preferred)) }
        }
        let byRole = run(required)
        if !byRole.isEmpty { return Result(openings: byRole, match: .requiredRole(request.providerRole)) }
        guard request.providerRole != nil else { return Result(openings: []) }
        for role in request.fallbackRoles where role != request.providerRole {
            let found = run(eligible(role))
            if !found.isEmpty { return Result(openings: found, match: .fallbackRole(role)) }
        }
        return Result(openings: [])
    }

    /// The search's answer on a calendar known only until `known` (its schedule blocks, busy time and
    /// blockouts were loaded for a window ending there), or nil when time after `known` could change
    /// it. The search takes the earliest openings first, so openings found before `known` are the
    /// ones a whole calendar gives whenever they are as many as asked and come from the first
    /// provider choice that applies (the preferred provider when eligible, else the required role);
    /// a shorter answer, or one from a later choice, is undecided (that choice may have openings
    /// after `known`). Lets a caller load the first weeks of a calendar and the rest only when needed.
    public static func search(_ request: SlotRequest, in calendar: LocationCalendar, knownUntil known: Int64) -> Result? {
        if request.latest <= known || request.count <= 0 { return search(request, in: calendar) }
        var within = request
        within.latest = known
        let found = search(within, in: calendar)
        guard found.openings.count == request.count, let match = found.match else { return nil }
        switch match {
        case .preferredProvider:
            return found
        case .requiredRole:
            // Had the preferred provider been eligible, it came first and had nothing before `known`.
            let preferredEligible =
                request.preferredProviderID.map { preferred in
                    calendar.providers.contains { $0.providerID == preferred && isEligible($0, for: request, role: request.providerRole) }
                } ?? false
            return preferredEligible ? nil : found
        case .fallbackRole:
            return nil
        }
    }

    /// Whether `provider` may take the request's work with `role` (nil: any role): the request's
    /// `providerID`, when set, narrows to that one provider.
    static func isEligible(_ provider: ProviderCalendar, for request: SlotRequest, role: String?) -> Bool {
        (request.providerID.map { provider.providerID == $0 } ?? true) && (role.map { provider.roles.contains($0) } ?? true)
    }

    /// Local midnight (as an instant) that starts the next business day (Mon-Fri) strictly after the
    /// local day of `instant`.
    public static func startOfNextBusinessDay(after instant: Int64, in zone: TimeZone) -> Int64 {
        let z = ZoneOffsets(zone: zone)
        var day = z.localDay(instant) + 1
        while ZoneOffsets.isoWeekday(ofDay: day) >= 6 { day += 1 }
        return z.startOfLocalDay(day, after: instant)
    }

    /// The instant of the next local midnight after `instant` (end of the local day), DST-correct
    /// (days can be 23 or 25 hours).
    public static func endOfLocalDay(_ instant: Int64, in zone: TimeZone) -> Int64 {
        ZoneOffsets(zone: zone).endOfLocalDay(instant)
    }
}

/// One search's state.
private struct Search {
    struct Picked {
        var provider: Int
        var operatory: Int  // -1 = none
        var range: TimeRange
    }

    let request: SlotRequest
    let calendar: LocationCalendar
    let index: CalendarIndex
    let zone: ZoneOffsets
    let duration: Int64
    let step: Int64
    let latest: Int64
    let allowed: Set<String>
    /// Whether the precomputed "nothing allowed" blockout lists apply.
    let defaultBlockouts: Bool
    let timesOfDay: Set<TimeOfDay>
    let weekdays: Set<Int>
    var picked: [Picked] = []
    /// Per provider slot in `eligible`: forbidden lists for this request when some blockout kind is allowed.
    var forbidden: [[TimeRange]] = []
    var operatoryForbidden: [[[TimeRange]]] = []

    init(request: SlotRequest, calendar: LocationCalendar) {
        self.request = request
        self.calendar = calendar
        self.index = calendar.index
        self.zone = calendar.index.zone
        self.duration = Int64(request.durationMinutes) * 60
        let inc = max(1, calendar.incrementMinutes)
        self.step = Int64(inc) * 60
        self.latest = request.latest
        var allowed = request.allowedBlockoutKinds
        allowed.remove(Blockout.doNotSchedule)
        self.allowed = allowed
        self.defaultBlockouts = allowed.isDisjoint(with: calendar.index.kinds)
        // A preference that allows everything is no preference.
        self.timesOfDay = request.timesOfDay.count == TimeOfDay.allCases.count ? [] : request.timesOfDay
        let wd = request.weekdays.filter { (1...7).contains($0) }
        self.weekdays = wd.count == 7 ? [] : Set(wd)
    }

    mutating func run(_ eligible: [Int]) -> [Opening] {
        if !weekdays.isEmpty && request.weekdays.allSatisfy({ !(1...7).contains($0) }) { return [] }
        if !defaultBlockouts {
            for p in eligible {
                let ip = index.providers[p]
                forbidden.append(CalendarIndex.forbidden(ip.blockouts, allowing: allowed))
                operatoryForbidden.append(ip.operatoryBlockouts.map { CalendarIndex.forbidden($0, allowing: allowed) })
            }
        }
        var cursor = [Int64](repeating: request.earliest, count: eligible.count)
        var cached = [Picked?](repeating: nil, count: eligible.count)
        var valid = [Bool](repeating: false, count: eligible.count)
        var out: [Opening] = []
        out.reserveCapacity(request.count)
        while out.count < request.count {
            var best = -1
            for k in eligible.indices {
                if !valid[k] {
                    cached[k] = earliestOpening(slot: k, provider: eligible[k], from: cursor[k])
                    valid[k] = true
                }
                if let c = cached[k], best < 0 || cached[best] == nil || c.range.start < cached[best]!.range.start {
                    best = k
                }
            }
            guard best >= 0, let chosen = cached[best] else { break }
            picked.append(chosen)
            out.append(
                Opening(
                    providerID: calendar.providers[chosen.provider].providerID,
                    operatoryID: chosen.operatory >= 0 ? index.operatoryNames[chosen.operatory] : nil,
                    range: chosen.range))
            if request.spreadOverDays {
                let next = zone.endOfLocalDay(chosen.range.start)
                for k in eligible.indices {
                    cursor[k] = max(cursor[k], next)
                    if let c = cached[k], c.range.start < next { valid[k] = false }
                }
            } else {
                // Only candidates that collide with the pick change; nothing earlier became valid.
                for k in eligible.indices {
                    guard let c = cached[k], c.range.overlaps(chosen.range) else { continue }
                    if c.provider == chosen.provider || (c.operatory >= 0 && c.operatory == chosen.operatory) {
                        cursor[k] = c.range.start
                        valid[k] = false
                    }
                }
            }
        }
        return out
    }

    /// The earliest valid opening of provider `p` starting at or after `from`.
    func earliestOpening(slot: Int, provider p: Int, from: Int64) -> Picked? {
        let ip = index.providers[p]
        let blocks = ip.blocks
        if blocks.isEmpty { return nil }
        let t = max(from, request.earliest)
        // First block whose running max end is after t + duration could hold an opening.
        var lo = 0
        var hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if ip.maxEnd[mid] >= t + duration { hi = mid } else { lo = mid + 1 }
        }
        var best: Picked?
        var i = lo
        while i < blocks.count {
            let b = blocks[i]
            let lower = max(t, b.range.start)
            if let bst = best, lower >= bst.range.start { break }
            if lower + duration > latest { break }
            if b.range.end >= lower + duration, let c = earliest(in: b, slot: slot, provider: p, from: lower) {
                if best == nil || c.range.start < best!.range.start { best = c }
            }
            i += 1
        }
        return best
    }

    /// The earliest valid opening inside one block, starting at or after `from` (>= block start).
    func earliest(in block: CalendarIndex.Block, slot: Int, provider p: Int, from: Int64) -> Picked? {
        let hardEnd = min(block.range.end, latest)
        let busy = calendar.providerBusy(p)
        let forbidden = defaultBlockouts ? index.providers[p].forbidden : self.forbidden[slot]
        let opForbidden = defaultBlockouts ? index.providers[p].operatoryForbidden : self.operatoryForbidden[slot]
        let ops = block.operatories
        let hasPreferences = !timesOfDay.isEmpty || !weekdays.isEmpty
        var s = zone.alignUp(from, step: step)
        scan: while true {
            let e = s + duration
            if e > hardEnd { return nil }
            if hasPreferences, let next = preferenceJump(s) {
                s = zone.alignUp(next, step: step)
                continue
            }
            if let j = RangeList.conflictEnd(busy, s, e) ?? RangeList.conflictEnd(forbidden, s, e) {
                s = zone.alignUp(j, step: step)
                continue
            }
            for pk in picked where pk.provider == p && pk.range.start < e && s < pk.range.end {
                s = zone.alignUp(pk.range.end, step: step)
                continue scan
            }
            if ops.isEmpty {
                return Picked(provider: p, operatory: -1, range: TimeRange(start: s, end: e))
            }
            var freeAt = Int64.max
            for o in ops {
                if let j = RangeList.conflictEnd(index.operatoryBusy[o], s, e) ?? RangeList.conflictEnd(opForbidden[o], s, e)
                    ?? pickedConflict(operatory: o, s, e)
                {
                    freeAt = min(freeAt, j)
                } else {
                    return Picked(provider: p, operatory: o, range: TimeRange(start: s, end: e))
                }
            }
            s = zone.alignUp(freeAt, step: step)
        }
    }

    @inline(__always)
    func pickedConflict(operatory o: Int, _ s: Int64, _ e: Int64) -> Int64? {
        for pk in picked where pk.operatory == o && pk.range.start < e && s < pk.range.end {
            return pk.range.end
        }
        return nil
    }

    /// nil when `s` meets the weekday and time-of-day preferences; otherwise the earliest later instant that might.
    func preferenceJump(_ s: Int64) -> Int64? {
        let local = zone.local(s)
        let day = ZoneOffsets.floorDiv(local, ZoneOffsets.day)
        if !weekdays.isEmpty && !weekdays.contains(ZoneOffsets.isoWeekday(ofDay: day)) {
            var d = day + 1
            while !weekdays.contains(ZoneOffsets.isoWeekday(ofDay: d)) { d += 1 }
            return zone.startOfLocalDay(d, after: s)
        }
        if timesOfDay.isEmpty { return nil }
        let sod = local - day * ZoneOffsets.day
        if timesOfDay.contains(TimeOfDay(secondsSinceLocalMidnight: sod)) { return nil }
        for (part, start) in TimeOfDay.starts where start > sod && timesOfDay.contains(part) {
            return zone.firstInstant(atLocal: day * ZoneOffsets.day + start, after: s)
        }
        return zone.startOfLocalDay(day + 1, after: s)
    }
}
