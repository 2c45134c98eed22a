import Foundation
import Hummingbird
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// A booking's confirmation: a `confirmation` patient message in the booking's transaction, with a
/// signed, expiring, single-purpose calendar link served on the public surface as .ics.
@Suite struct ConfirmationTests {
    /// The confirmation messages in the outbox, decoded.
    static func confirmations(_ pool: PostgresPool) async throws -> [PatientMessage] {
        try await pool.withConnection {
            try await $0.query("SELECT payload FROM outbox WHERE topic = 'patient.messages' ORDER BY id").map {
                try PatientMessage(data: try EventValidator.shared.decode(try $0.decode(0, as: [UInt8].self)).data)
            }
        }.filter { $0.kind == .confirmation }
    }

    @Test func aLinkBookingSendsAConfirmationWhoseCalendarLinkServesTheIcs() async throws {
        let f = try await BookingFixture()
        let chosen = f.holds[1]
        try await f.test { client in
            let booked = try await client.postForm("/book/\(f.token())", "reservation_id=\(chosen)")
            #expect(booked.status == .ok)
        }
        let sent = try await Self.confirmations(f.pool)
        #expect(sent.count == 1)
        let m = try #require(sent.first)
        // The fixture's patient texts (consent given, no email): a short text with the link, no file.
        #expect(m.channel == .sms && m.to == "+15550001111" && m.calendar == nil && m.sendAfter == nil)
        #expect(m.body.contains("you're booked at Smile & <Co>: Thu Dec 3, 8:00 AM EST"))
        let link = try #require(m.link)
        #expect(link.hasPrefix("http://localhost:8080/calendar/") && m.body.contains(link))
        let path = String(link.dropFirst("http://localhost:8080".count))
        try await f.test { client in
            let ics = try await client.get(path)
            #expect(ics.status == .ok)
            #expect(ics.headers[.contentType] == "text/calendar; charset=utf-8")
            #expect(ics.headers[.contentDisposition] == "attachment; filename=\"appointment.ics\"")
            let lines = ics.text.components(separatedBy: "\r\n")
            #expect(lines.contains("UID:booking-\(chosen)@planrouter") && lines.contains("SEQUENCE:0"))
            #expect(lines.contains("DTSTART:20261203T130000Z") && lines.contains("DTEND:20261203T143000Z"))
            #expect(lines.contains("LOCATION:Smile & <Co>"))
            // Single purpose: a calendar link books nothing and shows no page, a booking link is no calendar.
            let calendarToken = String(path.dropFirst("/calendar/".count))
            let asPage = try await client.get("/book/\(calendarToken)")
            let asBooking = try await client.postForm("/book/\(calendarToken)", "reservation_id=\(chosen)")
            let bookingAsCalendar = try await client.get("/calendar/\(f.token())")
            #expect(asPage.status == .notFound && asBooking.status == .notFound && bookingAsCalendar.status == .notFound)
        }
        await f.pool.close()
    }

    @Test func calendarLinksAreSignedExpiringAndOfTheirOwnOrganization() async throws {
        let f = try await BookingFixture()
        try await f.test { client in
            let booked = try await client.postForm("/book/\(f.token())", "reservation_id=\(f.holds[0])")
            #expect(booked.status == .ok)
        }
        let now = Int64(BookingFixture.now.timeIntervalSince1970)
        @Sendable func path(_ org: String, _ plan: String, expires: Int64, key: BookingKey = BookingFixture.key) -> String {
            "/calendar/"
                + BookingToken(offerID: 0, organizationID: org, planID: plan, expiresAt: expires, purpose: .calendar).sign(secret: key)
        }
        let valid = path("org-1", "p1", expires: now + 60)
        // Expired, forged, another organization's (a plan of the same id: the read is scoped to the token's
        // organization), and a case with no booking: all the one 404.
        let refused = [
            path("org-1", "p1", expires: now), path("org-1", "p1", expires: now + 60, key: BookingToken.key(fromSecret: "forged")),
            path("org-2", "p1", expires: now + 60), path("org-1", "p2", expires: now + 60),
        ]
        try await f.test { client in
            let ok = try await client.get(valid)
            #expect(ok.status == .ok)
            for p in refused {
                let r = try await client.get(p)
                #expect(r.status == .notFound, "\(p)")
            }
        }
        await f.pool.close()
    }

    /// Booked at 9 PM in New York (the default quiet hours are 20:00-08:00): the confirmation waits for
    /// 8 AM. A patient with no consented channel (a phone without SMS consent, no email) gets none.
    @Test func confirmationsRespectQuietHoursAndConsent() async throws {
        let f = try await BookingFixture()
        let (quietOffer, quietHolds) = (f.offerID, f.holds)
        let (silentOffer, silentHolds) = try await f.addCase(plan: "p2")
        try await f.pool.withConnection {
            _ = try await $0.execute("UPDATE plans SET patient = patient - 'sms_consent' WHERE plan_id = 'p2'")
        }
        f.clock.set(RFC3339.parse("2026-12-02T02:00:00Z")!)
        try await f.test { client in
            let quiet = try await client.postForm("/book/\(f.token(offer: quietOffer))", "reservation_id=\(quietHolds[1])")
            let silent = try await client.postForm("/book/\(f.token(offer: silentOffer, plan: "p2"))", "reservation_id=\(silentHolds[1])")
            #expect(quiet.status == .ok && silent.status == .ok)
        }
        let sent = try await Self.confirmations(f.pool)
        #expect(sent.map(\.planID) == ["p1"])
        #expect(sent.first?.sendAfter == RFC3339.parse("2026-12-02T13:00:00Z"))
        #expect(try await f.count("SELECT count(*) FROM plans WHERE status = 'booked'") == 2)
        await f.pool.close()
    }

    /// An email patient: the confirmation goes out although the case is booked (every other kind is
    /// cancelled then), through a real SMTP server, with a valid .ics attached.
    @Test func theConfirmationEmailCarriesTheIcsThroughARealSMTPServer() async throws {
        let smtp = try await SMTPSink.start()
        try await withNotifyFixture(smtp: smtp) { n in
            let f = try await BookingFixture(pool: n.pool)
            try await n.pool.withConnection {
                _ = try await $0.execute(
                    #"UPDATE plans SET patient = patient || '{"email": "ann@example.com", "preferred_channel": "email"}'::jsonb"#)
                _ = try await $0.execute("UPDATE locations SET address = '1 Main St, Boston, MA' WHERE id = 'loc-12'")
            }
            try await f.test { client in
                let booked = try await client.postForm("/book/\(f.token())", "reservation_id=\(f.holds[2])")
                #expect(booked.status == .ok)
            }
            let m = try #require(try await Self.confirmations(n.pool).first)
            #expect(m.channel == .email && m.to == "ann@example.com" && m.subject == "Your visit at Smile & <Co> is booked")
            try await n.record([m])
            try await n.sender().sendDue()
            #expect(try await n.delivery(m.messageID).status == "sent")
            let received = try smtp.messages()
            #expect(received.count == 1)
            let parts = try #require(MIMEParts(received.first?.raw ?? ""))
            #expect(parts.text.contains("You're booked at Smile & <Co>: Fri Dec 4, 8:00 AM EST"))
            #expect(parts.text.contains("Address: 1 Main St, Boston, MA"))
            let lines = parts.calendar.components(separatedBy: "\r\n")
            #expect(lines.first == "BEGIN:VCALENDAR" && lines.contains("BEGIN:VEVENT") && lines.contains("END:VCALENDAR"))
            #expect(lines.contains("UID:booking-\(f.holds[2])@planrouter") && lines.contains("DTSTART:20261204T130000Z"))
            #expect(lines.contains("LOCATION:Smile & <Co>\\, 1 Main St\\, Boston\\, MA"))
        }
    }
}

/// Just enough MIME to read our own multipart/mixed back: the text part and the base64 calendar part.
struct MIMEParts {
    var text: String
    var calendar: String

    init?(_ raw: String) {
        let raw = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        guard let b = raw.range(of: "boundary=\""), let end = raw[b.upperBound...].firstIndex(of: "\"") else { return nil }
        let boundary = "--" + raw[b.upperBound..<end]
        let parts = raw.components(separatedBy: boundary + "\r\n").dropFirst()
        guard parts.count == 2, let split = parts.last?.range(of: "\r\n\r\n") else { return nil }
        text = parts.first!
        let encoded = parts.last![split.upperBound...].replacingOccurrences(of: boundary + "--", with: "")
            .components(separatedBy: "\r\n").joined()
        guard parts.last!.contains("Content-Type: text/calendar"), let data = Data(base64Encoded: encoded) else { return nil }
        calendar = String(decoding: data, as: UTF8.self)
    }
}
