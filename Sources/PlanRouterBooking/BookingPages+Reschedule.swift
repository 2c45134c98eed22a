import Foundation
import PlanRouterCore

/// The reschedule link's pages: the current appointment with the openings to move it to, and the moved booking.
extension BookingPages {
    static func reschedulePlace(_ v: RescheduleView) -> String { v.locationName.isEmpty ? "your dental office" : v.locationName }

    static func reschedule(_ v: RescheduleView, unavailable: Bool = false) -> String {
        guard let booking = v.booking, v.state != .notBooked else {
            return page(
                title: "Appointment not found",
                body: "<h1>This appointment can no longer be changed online</h1>\n"
                    + "<p>It is no longer booked through this link. Please call your dental office.</p>")
        }
        let when = escape(LocalTime.formatWithZone(booking.start, in: v.timeZone))
        var b = "<h1>Hi \(escape(v.firstName.isEmpty ? "there" : v.firstName)), change your appointment</h1>\n"
        b += "<p>You're booked for \(when) at \(escape(reschedulePlace(v))).</p>\n"
        if v.state == .tooLate {
            b += "<p>It is too close to the appointment (or past it) to change it online. Please call \(escape(reschedulePlace(v))).</p>\n"
            return page(title: "Change your appointment", body: b)
        }
        if unavailable { b += "<p>That time is no longer available.</p>\n" }
        guard !v.openings.isEmpty else {
            b += "<p>There are no other openings we can book online. Your appointment stays as it is; "
            b += "call \(escape(reschedulePlace(v))) to find another time.</p>\n"
            return page(title: "Change your appointment", body: b)
        }
        b += "<p>Choose a new time (local to the office). Your current time is kept until you choose.</p>\n"
        b += v.openings.map { h in
            "<form method=\"post\"><button type=\"submit\" name=\"reservation_id\" value=\"\(h.reservationID)\">"
                + escape(LocalTime.formatWithZone(h.start, in: v.timeZone)) + "</button></form>\n"
        }.joined()
        return page(title: "Change your appointment", body: b)
    }

    static func moved(_ v: RescheduleView) -> String {
        guard let booking = v.booking else { return reschedule(v) }
        var b = "<h1>Your appointment is moved, \(escape(v.firstName.isEmpty ? "thank you" : v.firstName))!</h1>\n"
        b += "<p>\(escape(LocalTime.formatWithZone(booking.start, in: v.timeZone))) at \(escape(reschedulePlace(v))).</p>\n"
        let ics = CalendarInvite.ics(
            uid: "booking-\(v.calendarUID)", start: Date(timeIntervalSince1970: Double(booking.start)),
            end: Date(timeIntervalSince1970: Double(booking.end)), summary: "Appointment at \(reschedulePlace(v))", stamp: Date(),
            sequence: v.sequence)
        b += "<p><a href=\"\(escape(CalendarInvite.dataURL(ics)))\" download=\"appointment.ics\">Update your calendar</a></p>\n"
        b += "<p class=\"note\">We are sending you a new confirmation.</p>\n"
        return page(title: "Appointment moved", body: b)
    }

    static func rescheduleJSON(_ v: RescheduleView, moved: Bool = false, error: String? = nil) -> JSONValue {
        var o: JSONObject = ["status": .string(moved ? "moved" : v.state.rawValue), "plan_id": .string(v.planID)]
        if let b = v.booking { o["appointment"] = openingJSON(b, v.timeZone) }
        if v.state == .open && !moved { o["openings"] = .array(v.openings.map { openingJSON($0, v.timeZone) }) }
        if moved { o["sequence"] = .int(Int64(v.sequence)) }
        if let error {
            o["error"] = .string(error)
            o["message"] = "That opening is no longer available; these are still open."
        }
        return .object(o)
    }
}
