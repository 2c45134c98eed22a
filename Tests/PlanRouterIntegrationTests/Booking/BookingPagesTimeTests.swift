import Foundation
import PlanRouterCore
import Testing

@testable import PlanRouterBooking

/// Issue 12, point 6: the booking pages show each time with the zone the location's clocks show
/// then (no services needed: the pages are rendered directly).
@Suite struct BookingPagesTimeTests {
    func epoch(_ s: String) -> Int64 { Int64(RFC3339.parse(s)!.timeIntervalSince1970) }

    func view(_ zone: String, _ starts: [String]) -> OfferView {
        OfferView(
            offerID: 1, organizationID: "org-1", planID: "tp-1", locationID: "loc-1", locationName: "Front Range Dental",
            timeZone: TimeZone(identifier: zone)!, firstName: "Ann", depositCents: 0,
            openings: starts.enumerated().map { i, s in
                HeldOpening(reservationID: Int64(i + 1), providerID: "dr-1", operatoryID: nil, start: epoch(s), end: epoch(s) + 3600)
            })
    }

    @Test func openingsAcrossTheSpringChangeShowMSTThenMDT() {
        // 09:00 local on Fri 2026-03-06 (MST, -7) and Mon 2026-03-09 (MDT, -6).
        let o = view("America/Denver", ["2026-03-06T16:00:00Z", "2026-03-09T15:00:00Z"])
        let page = BookingPages.offer(o)
        #expect(page.contains(">Fri Mar 6, 9:00 AM MST</button>"), "\(page)")
        #expect(page.contains(">Mon Mar 9, 9:00 AM MDT</button>"))
        let booked = BookingPages.booked(BookingConfirmation(offer: o, opening: o.openings[1], requestID: "r-1"))
        #expect(booked.contains("Mon Mar 9, 9:00 AM MDT at Front Range Dental."))
    }

    @Test func zonesWithoutAnAbbreviationShowTheOffset() {
        let berlin = BookingPages.offer(view("Europe/Berlin", ["2026-12-01T08:00:00Z"]))
        #expect(berlin.contains(">Tue Dec 1, 9:00 AM CET</button>"))
        let howe = BookingPages.offer(view("Australia/Lord_Howe", ["2026-11-30T22:00:00Z"]))
        #expect(howe.contains(">Tue Dec 1, 9:00 AM GMT+11</button>"), "\(howe)")
    }
}
