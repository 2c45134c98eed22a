import Foundation
import PlanRouterCore
import Testing

/// The pieces of a booking's confirmation: single-purpose links, the calendar file's SEQUENCE and
/// LOCATION, and the email that attaches it.
@Suite struct ConfirmationPartsTests {
    static let key = BookingToken.key(fromSecret: "confirmation-test-secret")

    @Test func aLinkVerifiesOnlyForItsOwnPurpose() throws {
        for signed in BookingToken.Purpose.allCases {
            let token = BookingToken(offerID: 7, organizationID: "org-1", planID: "p1", expiresAt: 2_000, purpose: signed).sign(
                secret: Self.key)
            for asked in BookingToken.Purpose.allCases {
                let verified = try? BookingToken.verify(token, secret: Self.key, now: 1_000, purpose: asked)
                #expect((verified != nil) == (signed == asked), "signed \(signed), verified as \(asked)")
            }
            #expect(try BookingToken.verify(token, secret: Self.key, now: 1_000, purpose: signed).purpose == signed)
            #expect((try? BookingToken.verify(token, secret: Self.key, now: 2_000, purpose: signed)) == nil)
        }
    }

    @Test func theCalendarFileNamesItsSequenceAndPlace() {
        let ics = CalendarInvite.ics(
            uid: "booking-12", start: RFC3339.parse("2026-12-03T13:00:00Z")!, end: RFC3339.parse("2026-12-03T14:30:00Z")!,
            summary: "Appointment at Smile", stamp: RFC3339.parse("2026-12-01T14:30:00Z")!, location: "Smile, 1 Main St", sequence: 2)
        let lines = ics.components(separatedBy: "\r\n")
        #expect(
            lines.contains("SEQUENCE:2") && lines.contains("LOCATION:Smile\\, 1 Main St") && lines.contains("UID:booking-12@planrouter"))
    }

    @Test func anEmailWithACalendarIsMultipartWithTheFileInBase64() throws {
        let ics = CalendarInvite.ics(
            uid: "booking-12", start: RFC3339.parse("2026-12-03T13:00:00Z")!, end: RFC3339.parse("2026-12-03T14:30:00Z")!,
            summary: "Appointment at Smile", stamp: RFC3339.parse("2026-12-01T14:30:00Z")!)
        let mail = EmailMessage(
            from: "a@example.com", to: "b@example.com", subject: "Booked", body: "You're booked.\n.dot line", messageID: "confirm-1",
            date: Date(timeIntervalSince1970: 0), calendar: ics)
        let data = mail.data
        #expect(data.contains("Content-Type: multipart/mixed; boundary=\"=_planrouter_confirm1\"\r\n\r\n--=_planrouter_confirm1\r\n"))
        #expect(data.contains("You're booked.\r\n..dot line\r\n--=_planrouter_confirm1\r\n"))
        #expect(data.contains("Content-Type: text/calendar; charset=utf-8; method=PUBLISH; name=\"appointment.ics\""))
        #expect(data.contains("Content-Disposition: attachment; filename=\"appointment.ics\""))
        // The file in base64 lines of 76, then the closing boundary.
        let encoded = Data(ics.utf8).base64EncodedString(options: [
            .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
        ])
        #expect(data.hasSuffix("\r\n\r\n" + encoded + "\r\n--=_planrouter_confirm1--\r\n"))
        #expect(!EmailMessage(from: "a@x", to: "b@x", subject: "s", body: "b", messageID: "m", date: Date()).data.contains("multipart"))
    }
}
