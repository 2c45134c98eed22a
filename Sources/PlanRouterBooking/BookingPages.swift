import Foundation
import PlanRouterCore

/// The patient-facing HTML. Every piece of text passes through `escape`; the pages
/// load nothing from elsewhere and post back to their own URL (the token stays in it).
enum BookingPages {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>\(escape(title))</title>
        <style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4}
        button{display:block;width:100%;padding:.9rem;margin:.5rem 0;font-size:1.05rem;border-radius:.5rem;border:1px solid #2b6cb0;background:#ebf4ff}
        .note{color:#555} button.other{border-color:#888;background:#fff;font-size:.95rem}</style></head>
        <body>
        \(body)
        </body></html>

        """
    }

    static func place(_ o: OfferView) -> String { o.locationName.isEmpty ? "your dental office" : o.locationName }

    static func offer(_ o: OfferView) -> String {
        var b = "<h1>Hi \(escape(o.firstName.isEmpty ? "there" : o.firstName)), pick your appointment</h1>\n"
        b += "<p>At \(escape(place(o))). Times are local to the office.</p>\n"
        if o.noLaterTimes {
            b += "<p>There are no later openings we can book online. Choose one of these times, or ask us to call you.</p>\n"
        } else if o.laterRound > 0 && !o.openings.isEmpty {
            b += "<p>Here are later times:</p>\n"
        } else if o.gone > 0 && !o.openings.isEmpty {
            b += "<p>Some of the times we offered are no longer available. These are still open:</p>\n"
        }
        b += openingForms(o)
        if o.depositCents > 0, !o.openings.isEmpty {
            b += "<p class=\"note\">A deposit of \(escape(MessageTemplates.dollars(o.depositCents))) is due to confirm.</p>\n"
        }
        b += noneWork(o)
        b += callUs(o)
        return page(title: "Book your appointment", body: b)
    }

    /// "None of these work": later times (while the link has rounds left; the form carries the round it
    /// was rendered with, so a double submit moves on once), or the practice calls (a coordinator task;
    /// the held times are freed).
    static func noneWork(_ o: OfferView) -> String {
        guard !o.openings.isEmpty else { return "" }
        var b = ""
        if o.laterTimesLeft && !o.noLaterTimes {
            b += "<form method=\"post\"><input type=\"hidden\" name=\"round\" value=\"\(o.laterRound)\">"
            b +=
                "<button type=\"submit\" name=\"none_work\" value=\"later\" class=\"other\">None of these work: show me later times</button></form>\n"
        }
        b += "<form method=\"post\"><button type=\"submit\" name=\"none_work\" value=\"call\" class=\"other\">"
        b += "None of these work: please call me</button></form>\n"
        return b
    }

    static func callRequested(_ o: OfferView) -> String {
        var b = "<h1>We'll call you, \(escape(o.firstName.isEmpty ? "thank you" : o.firstName))</h1>\n"
        b += "<p>\(escape(place(o))) will call you to find a time that works. The times we offered are released.</p>\n"
        b += callUs(o)
        return page(title: "We'll call you", body: b)
    }

    static func callRequestedJSON(_ o: OfferView) -> JSONValue {
        .object(["status": "call_requested", "plan_id": .string(o.planID), "message": "The office will call to find a time."])
    }

    /// An "Add to calendar" download of the booked appointment (.ics), with the UID of the confirmation's file so a
    /// calendar that gets both keeps one event.
    static func addToCalendar(_ c: BookingConfirmation) -> String {
        let ics = CalendarInvite.ics(
            uid: "booking-\(c.opening.reservationID)", start: Date(timeIntervalSince1970: Double(c.opening.start)),
            end: Date(timeIntervalSince1970: Double(c.opening.end)), summary: "Appointment at \(place(c.offer))",
            stamp: Date())
        return "<p><a href=\"\(escape(CalendarInvite.dataURL(ics)))\" download=\"appointment.ics\">Add to calendar</a></p>\n"
    }

    /// "Questions? Call …" when locations.yaml gives the location a phone.
    static func callUs(_ o: OfferView) -> String {
        guard let phone = o.locationPhone else { return "" }
        return "<p class=\"note\">Questions? Call \(escape(place(o))) at <a href=\"tel:\(escape(phone))\">\(escape(phone))</a>.</p>\n"
    }

    static func openingForms(_ o: OfferView) -> String {
        guard !o.openings.isEmpty else {
            return "<p>None of the times we offered is still available. \(escape(place(o))) will be in touch to find a time with you.</p>\n"
        }
        return o.openings.map { h in
            "<form method=\"post\"><button type=\"submit\" name=\"reservation_id\" value=\"\(h.reservationID)\">"
                + escape(LocalTime.formatWithZone(h.start, in: o.timeZone)) + "</button></form>\n"
        }.joined()
    }

    static func conflict(_ o: OfferView) -> String {
        var b = "<h1>That time is no longer available</h1>\n"
        if !o.openings.isEmpty { b += "<p>These are still open:</p>\n" }
        b += openingForms(o)
        return page(title: "That time is no longer available", body: b)
    }

    static func booked(_ c: BookingConfirmation) -> String {
        if let until = c.provisionalUntil {
            var b = "<h1>We're holding this time for you, \(escape(c.offer.firstName.isEmpty ? "thank you" : c.offer.firstName))</h1>\n"
            b += "<p>\(escape(LocalTime.formatWithZone(c.opening.start, in: c.offer.timeZone))) at \(escape(place(c.offer))).</p>\n"
            b += "<p>Pay the \(escape(MessageTemplates.dollars(c.offer.depositCents))) deposit by "
            b += "\(escape(LocalTime.formatWithZone(Int64(until.timeIntervalSince1970), in: c.offer.timeZone))) to confirm it. "
            b += "We are sending you a secure payment link; this page shows it too once it is ready.</p>\n"
            return page(title: "Time held: deposit due", body: b)
        }
        var b = "<h1>You're booked, \(escape(c.offer.firstName.isEmpty ? "thank you" : c.offer.firstName))!</h1>\n"
        b += "<p>\(escape(LocalTime.formatWithZone(c.opening.start, in: c.offer.timeZone))) at \(escape(place(c.offer))).</p>\n"
        if c.offer.depositCents > 0 {
            b +=
                "<p class=\"note\">A deposit of \(escape(MessageTemplates.dollars(c.offer.depositCents))) is due; you will get a separate request.</p>\n"
        }
        b += addToCalendar(c)
        b += callUs(c.offer)
        return page(title: "Appointment booked", body: b)
    }

    /// A used link whose booking waits for its deposit: the checkout link, once the payments worker made it.
    static func pendingDeposit(_ d: PendingDeposit) -> String {
        var b = d.policy == .depositToConfirm ? "<h1>Your deposit confirms your visit</h1>\n" : "<h1>Your visit is booked</h1>\n"
        b += "<p>Pay the \(escape(MessageTemplates.dollars(d.amountCents))) deposit by "
        b += "\(escape(LocalTime.formatWithZone(Int64(d.dueBy.timeIntervalSince1970), in: d.timeZone))).</p>\n"
        if let url = d.checkoutURL {
            b += "<p><a href=\"\(escape(url))\">Pay the deposit</a></p>\n"
        } else {
            b += "<p class=\"note\">Your payment link is on its way; reload this page in a minute.</p>\n"
        }
        return page(title: "Deposit due", body: b)
    }

    static func pendingDepositJSON(_ d: PendingDeposit) -> JSONValue {
        var o: JSONObject = [
            "status": "deposit_due", "policy": .string(d.policy.rawValue), "deposit_cents": .int(d.amountCents),
            "due_by": .string(RFC3339.format(d.dueBy, in: d.timeZone)),
        ]
        if let url = d.checkoutURL { o["checkout_url"] = .string(url) }
        return .object(o)
    }

    static let notFound = page(
        title: "Link not valid",
        body: "<h1>This link is no longer valid</h1>\n<p>Please call your dental office to book your appointment.</p>")

    // MARK: JSON

    static func openingJSON(_ h: HeldOpening, _ zone: TimeZone) -> JSONValue {
        var o: JSONObject = [
            "reservation_id": .int(h.reservationID),
            "start": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.start)), in: zone)),
            "end": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.end)), in: zone)),
            "local_time": .string(LocalTime.format(h.start, in: zone)), "provider_id": .string(h.providerID),
        ]
        if let op = h.operatoryID { o["operatory_id"] = .string(op) }
        return .object(o)
    }

    static func offerJSON(_ o: OfferView) -> JSONValue {
        .object([
            "plan_id": .string(o.planID),
            "location": .object(["id": .string(o.locationID), "name": .string(o.locationName), "time_zone": .string(o.timeZone.identifier)]
            ),
            "first_name": .string(o.firstName), "openings": .array(o.openings.map { openingJSON($0, o.timeZone) }),
            "deposit_cents": .int(o.depositCents), "openings_gone": .int(Int64(o.gone)),
            "later_round": .int(Int64(o.laterRound)), "later_times_left": .bool(o.laterTimesLeft && !o.openings.isEmpty),
        ])
    }

    /// The link after "Show me later times": its openings now, the round, and whether more may be asked.
    static func laterJSON(_ o: OfferView) -> JSONValue {
        var v = offerJSON(o).objectValue!
        v["status"] = o.noLaterTimes ? "no_later_times" : "later_times"
        if o.noLaterTimes {
            v["message"] = "There are no later openings we can book online; choose one of these or ask us to call you."
        }
        return .object(v)
    }

    static func conflictJSON(_ o: OfferView) -> JSONValue {
        var v = offerJSON(o).objectValue!
        v["error"] = "opening_unavailable"
        v["message"] = .string(
            o.openings.isEmpty
                ? "That opening is no longer available, and none of the openings offered is; the office will be in touch to find a time."
                : "That opening is no longer available; these are still open.")
        return .object(v)
    }

    static func bookedJSON(_ c: BookingConfirmation) -> JSONValue {
        var o: JSONObject = [
            "status": c.provisionalUntil == nil ? "booked" : "provisional", "plan_id": .string(c.offer.planID),
            "request_id": .string(c.requestID), "appointment": openingJSON(c.opening, c.offer.timeZone),
            "deposit_cents": .int(c.offer.depositCents),
        ]
        if let until = c.provisionalUntil { o["deposit_due_by"] = .string(RFC3339.format(until, in: c.offer.timeZone)) }
        return .object(o)
    }

    static let notFoundJSON = JSONValue.object(["error": "not_found", "message": "This link is no longer valid."])
}
