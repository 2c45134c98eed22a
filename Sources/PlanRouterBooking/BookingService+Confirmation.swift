import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension BookingService {
    /// How long after the appointment's end a calendar link still works.
    static let calendarLinkGraceSeconds: Int64 = 7 * 86_400

    /// The booking's confirmation to the patient, in the booking's transaction: a `confirmation`
    /// patient message through the notify path (the channel the patient consented to; quiet hours
    /// delay it like any message), with a signed calendar link and, for email, the .ics file. A case
    /// without a usable channel gets none (the booking page already confirmed it).
    func confirmation(
        _ key: PlanKey, patientID: String, requestID: String, outbox: inout OutboxBatch, now: Date, in tx: PostgresConnection
    ) async throws {
        guard let booking = try await ReservationsRepository.activeBooking(key, on: tx),
            let plan = try await PlansRepository.stored([key], on: tx).first
        else { return }
        let patient = (try? JSONParser.parse(plan.patientJSON)) ?? .null
        guard let (channelName, to) = PatientContact.channel(patient), let channel = MessageChannel(rawValue: channelName) else { return }
        let zone = TimeZone(identifier: booking.timeZone) ?? TimeZone(identifier: "UTC")!
        let rules = try await rules.rules(for: key.organizationID, on: tx).resolved(for: booking.locationID)
        let info = try await LocationsRepository.infos(
            [LocationKey(organizationID: key.organizationID, locationID: booking.locationID)], on: tx
        )
        .values.first
        let origin = try await PlanEventsRepository.bookingOrigin(key, reservationID: booking.reservationID, on: tx)
        let sendAfter = (info?.quietHours ?? rules.quietHours).end(after: now, in: zone)
        let templates = MessageTemplates()
        let values = [
            "first_name": patient["first_name"]?.stringValue ?? "there",
            "location_name": booking.locationName.isEmpty ? "your dental office" : booking.locationName,
            "openings": LocalTime.formatWithZone(booking.start, in: zone), "link": calendarLink(key, booking),
            "reschedule_link": rescheduleLink(key, booking),
        ]
        var body = MessageTemplates.render(channel == .sms ? templates.confirmationSMS : templates.confirmationEmail, values)
        if channel == .email, let address = booking.locationAddress, !address.isEmpty { body += "\nAddress: \(address)\n" }
        let m = PatientMessage(
            messageID: "confirm-\(requestID)", organizationID: key.organizationID, locationID: booking.locationID, planID: key.planID,
            patientID: patientID, channel: channel, to: to, kind: .confirmation,
            subject: channel == .email ? MessageTemplates.render(templates.confirmationEmailSubject, values) : nil, body: body,
            link: values["link"], sendAfter: sendAfter, calendar: channel == .email ? Self.ics(booking, origin, stamp: now) : nil)
        let problems = EventValidator.shared.validate(m)
        guard problems.isEmpty else {
            // Names fields, never values; the booking stands, the page confirms it.
            logger.warning("confirmation message fails its schema; not sent", metadata: ["booking.problems": "\(problems.count)"])
            return
        }
        outbox.append(
            CloudEvent(id: m.messageID, source: "planrouter/booking", time: now, subject: key.planID, data: m),
            topic: configuration.topics[.patientMessages])
    }

    /// `<base>/calendar/<token>`: a calendar link of the case, valid until a week after the appointment.
    func calendarLink(_ key: PlanKey, _ booking: ActiveBooking) -> String {
        let token = BookingToken(
            offerID: 0, organizationID: key.organizationID, planID: key.planID, expiresAt: booking.end + Self.calendarLinkGraceSeconds,
            purpose: .calendar)
        return "\(configuration.linkBaseURL)/calendar/\(token.sign(secret: configuration.bookingKey))"
    }

    /// The booking as an iCalendar file: the UID names the chain's first booking (a moved booking keeps it) and
    /// SEQUENCE counts the moves, so a calendar updates its one event; the place is the location.
    static func ics(_ booking: ActiveBooking, _ origin: BookingOrigin?, stamp: Date) -> String {
        let place = booking.locationName.isEmpty ? "your dental office" : booking.locationName
        let location = [booking.locationName, booking.locationAddress ?? ""].filter { !$0.isEmpty }.joined(separator: ", ")
        return CalendarInvite.ics(
            uid: "booking-\(origin?.firstReservationID ?? booking.reservationID)",
            start: Date(timeIntervalSince1970: Double(booking.start)),
            end: Date(timeIntervalSince1970: Double(booking.end)), summary: "Appointment at \(place)", stamp: stamp,
            location: location.isEmpty ? nil : location, sequence: origin?.sequence ?? 0)
    }

    /// `GET /calendar/{token}`: the case's current booking as .ics, or nil (invalid, expired, or
    /// another purpose's link; no active booking) — answered alike.
    public func calendar(token: String) async throws -> String? {
        let now = try await clock.now()
        guard let t = verified(token, now: now, purpose: .calendar) else { return nil }
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        let found = try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> (ActiveBooking, BookingOrigin?)? in
            guard let booking = try await ReservationsRepository.activeBooking(key, on: tx) else { return nil }
            return (booking, try await PlanEventsRepository.bookingOrigin(key, reservationID: booking.reservationID, on: tx))
        }
        guard let (booking, origin) = found else {
            refused("no_booking")
            return nil
        }
        return Self.ics(booking, origin, stamp: now)
    }
}
