import Foundation
import PlanRouterCore
import Testing

/// The booked appointment's .ics (RFC 5545).
@Suite struct CalendarInviteTests {
    @Test func oneEventInUTCWithEscapedAndFoldedText() {
        let ics = CalendarInvite.ics(
            uid: "req-1", start: RFC3339.parse("2026-12-03T13:00:00Z")!, end: RFC3339.parse("2026-12-03T14:30:00Z")!,
            summary: "Appointment at Smile; Back Bay, Boston\\n" + String(repeating: "é", count: 40),
            stamp: RFC3339.parse("2026-12-01T14:30:00Z")!)
        let lines = ics.components(separatedBy: "\r\n")
        #expect(lines.first == "BEGIN:VCALENDAR" && lines.last == "" && lines.dropLast().last == "END:VCALENDAR")
        #expect(lines.contains("DTSTART:20261203T130000Z") && lines.contains("DTEND:20261203T143000Z"))
        #expect(lines.contains("DTSTAMP:20261201T143000Z") && lines.contains("UID:req-1@planrouter"))
        // Escaped (; , \) and folded at 75 octets without splitting a character.
        #expect(ics.contains("SUMMARY:Appointment at Smile\\; Back Bay\\, Boston\\\\n"))
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
        let unfolded = ics.replacingOccurrences(of: "\r\n ", with: "")
        #expect(unfolded.contains(String(repeating: "é", count: 40)))
    }

    @Test func theDataURLCarriesTheFileVerbatim() {
        let ics = CalendarInvite.ics(
            uid: "u", start: Date(timeIntervalSince1970: 0), end: Date(timeIntervalSince1970: 60), summary: "a b&c", stamp: Date())
        let url = CalendarInvite.dataURL(ics)
        #expect(url.hasPrefix("data:text/calendar;charset=utf-8,BEGIN%3AVCALENDAR%0D%0A"))
        #expect(url.dropFirst("data:text/calendar;charset=utf-8,".count).removingPercentEncoding == ics)
        #expect(!url.contains(" ") && !url.contains("\"") && !url.contains("&"))
    }
}
