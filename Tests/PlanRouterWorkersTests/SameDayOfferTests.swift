import Foundation
import PlanRouterCore
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// When a self-book link may offer today's openings (`offer.same_day_lead`, docs/rules.md): the
/// earliest start is the lead after the message can go out, and the planner takes the earlier of
/// that and the next business day.
@Suite struct SameDayOfferTests {
    static let newYork = TimeZone(identifier: "America/New_York")!
    let location = LocationInfo(
        organizationID: "org-1", id: "loc-1", name: "Midtown", timeZone: newYork, incrementMinutes: 10, defaultCoordinatorID: nil,
        calendarVersion: 1)

    func at(_ s: String) -> Int64 { Int64(RFC3339.parse(s)!.timeIntervalSince1970) }

    @Test func aMorningAcceptanceMayBeOfferedThisAfternoon() {
        // Tue 09:30 New York: openings from 11:30 today.
        let now = at("2026-12-01T14:30:00Z")
        #expect(OfferPlanner.sameDayEarliest(RoutingRules.defaults, info: location, now: now) == at("2026-12-01T16:30:00Z"))
    }

    @Test func aMessageHeldForQuietHoursCountsTheLeadFromWhenItGoesOut() {
        // 06:00 New York is inside the default quiet hours (20:00–08:00): the text goes at 08:00, so 10:00.
        let now = at("2026-12-01T11:00:00Z")
        #expect(OfferPlanner.sameDayEarliest(RoutingRules.defaults, info: location, now: now) == at("2026-12-01T15:00:00Z"))
        // The location's own quiet hours (locations.yaml) win over the rules'.
        var late = location
        late.quietHours = RoutingRules.QuietHours(startMinute: 21 * 60, endMinute: 8 * 60 + 30)
        #expect(OfferPlanner.sameDayEarliest(RoutingRules.defaults, info: late, now: now) == at("2026-12-01T15:30:00Z"))
    }

    @Test func anEveningAcceptanceLeavesTheOfferOnTheNextBusinessDay() {
        // 21:00 New York: the text waits until 08:00 tomorrow, 10:00 is later than tomorrow's start of day.
        let now = at("2026-12-02T02:00:00Z")
        let sameDay = OfferPlanner.sameDayEarliest(RoutingRules.defaults, info: location, now: now)
        #expect(sameDay > SlotSearch.startOfNextBusinessDay(after: now, in: Self.newYork))
    }

    @Test func aZeroLeadTurnsSameDayOffersOff() throws {
        var rules = RoutingRules.defaults
        rules.offer.sameDayLeadMinutes = 0
        #expect(OfferPlanner.sameDayEarliest(rules, info: location, now: at("2026-12-01T14:30:00Z")) == .max)
        let parsed = try RoutingRules(
            yaml: RoutingRules.defaultYAML.replacingOccurrences(of: "same_day_lead: 2h", with: "same_day_lead: off"))
        #expect(parsed.offer.sameDayLeadMinutes == 0)
        #expect(RoutingRules.defaults.offer.sameDayLeadMinutes == 120)
    }
}
