import Foundation
import PlanRouterCore
import PlanRouterStore

/// The patients' side of messaging: what they receive comes from the emulators (texts from the Twilio
/// emulator, emails from the SMTP sink), never from Kafka; they book through the link, reply with an
/// opening's number, text STOP, or pay the deposit on the Stripe emulator's checkout page.
struct PatientMessagingState {
    var cursor = PatientInbox.Cursor()
    /// Patient number or address → plan.
    var contacts: [String: String] = [:]
    /// Plans whose patient got a booking link already (the next ones are nudges).
    var offered: Set<String> = []
    /// Plans whose patient got a text already (the first one is where STOP happens).
    var texted: Set<String> = []
    var optedOut: Set<String> = []
    /// Checkout pages a patient has decided about (reminders link the same page).
    var checkouts: Set<String> = []
}

extension Simulator {
    /// Something a patient does with their phone or the checkout page.
    enum PatientAction {
        case text(from: String, to: String, body: String)
        case pay(checkoutURL: String)
    }

    /// Reads what patients received since the last look and decides how each reacts.
    func observeInboxes(now: Date) async throws {
        guard let channels = settings.patientChannels else { return }
        fillContacts()
        let (received, next) = try await PatientInbox(channels: channels).fetch(after: patients.cursor)
        patients.cursor = next
        for m in received { react(to: m, now: now) }
    }

    /// Maps each patient's number and address to their accepted plan, once (follow-up cases take
    /// their parent's contacts over when they are routed: Simulator+Visits.swift).
    func fillContacts() {
        guard patients.contacts.isEmpty else { return }
        for a in acceptances.values where !visits.followUps.contains(a.planID) {
            guard let patient = (try? a.event.decode(PlanAccepted.self))?.patient else { continue }
            for contact in [patient.phone, patient.email].compactMap({ $0 }) { patients.contacts[contact] = a.planID }
        }
    }

    /// Without patient channels: a message as the pipeline published it, read off Kafka, is what the
    /// patient receives (at its `send_after`); there is no phone to reply from, so patients only book
    /// through the link (`simulate` without the emulators, e.g. the connector's own test).
    func react(toPublished message: PatientMessage, now: Date) {
        let body = message.link.map { message.body.contains($0) ? message.body : message.body + " " + $0 } ?? message.body
        let received = ReceivedMessage(channel: message.channel == .sms ? .sms : .email, to: message.to, from: "", body: body)
        fillContacts()
        react(to: received, now: max(now, message.sendAfter ?? now))
    }

    func react(to m: ReceivedMessage, now: Date) {
        guard !m.isReplyAnswer, let plan = patients.contacts[m.to], let a = acceptances[plan], !patients.optedOut.contains(plan) else {
            return
        }
        counters["received_\(m.channel.rawValue)", default: 0] += 1
        let hasPhone = settings.patientChannels != nil
        if hasPhone, m.channel == .sms, patients.texted.insert(plan).inserted, chance(model.optOutShare) {
            patients.optedOut.insert(plan)
            agenda.append((now.addingTimeInterval(uniform(60, 3600)), .patient(.text(from: m.to, to: m.from, body: "STOP"))))
            return
        }
        if let checkout = m.checkoutURL {
            guard patients.checkouts.insert(checkout).inserted else { return }
            if chance(model.payDeposit[a.tier] ?? 0.6) {
                let delay = min(exponential(mean: model.meanHoursToPay), 30) * 3600
                agenda.append((now.addingTimeInterval(delay), .patient(.pay(checkoutURL: checkout))))
            }
            return
        }
        guard let token = m.bookingToken else { return }
        let first = patients.offered.insert(plan).inserted
        var delay: TimeInterval
        if m.body.contains("before you leave") {
            // The front desk's same-visit openings: booked on the spot or not at all.
            guard chance(model.bookSameVisit) else { return }
            delay = 120
        } else if first {
            let delayHours = max(0, now.timeIntervalSince(a.at) / 3600)
            let warmth = delayHours <= 0.25 ? 1.0 : max(0.5, 1 - delayHours / model.warmthHalfLifeHours / 2)
            guard chance((model.bookFromOffer[a.tier] ?? 0.5) * warmth) else { return }
            delay = min(exponential(mean: model.meanHoursToBookFromOffer), 40) * 3600
        } else {
            // A nudge, or a withdrawn opening with fresh ones.
            guard chance(model.bookFromNudge) else { return }
            delay = min(exponential(mean: model.meanHoursToBookFromNudge), 40) * 3600
        }
        if hasPhone, m.channel == .sms, chance(model.replyShare) {
            // Mostly the first opening, as with the link.
            let roll = uniform(0, 1)
            let number = roll < 0.6 ? "1" : roll < 0.85 ? "2" : "3"
            agenda.append((now.addingTimeInterval(delay), .patient(.text(from: m.to, to: m.from, body: number))))
        } else {
            agenda.append((now.addingTimeInterval(delay), .book(token: token, planID: plan)))
        }
    }

    func perform(_ action: PatientAction) async throws {
        guard let channels = settings.patientChannels else { return }
        switch action {
        case .text(let from, let to, let body):
            let answer = try await PatientPhone.text(from: from, to: to, body: body, twilioEmulatorURL: channels.twilioEmulatorURL)
            counters[PatientPhone.outcome(ofText: body, answers: answer), default: 0] += 1
        case .pay(let url):
            counters[try await PatientPhone.pay(checkoutURL: url) ? "deposit_paid" : "deposit_too_late", default: 0] += 1
        }
    }

    /// Moves the Stripe emulator's business clock with `sim_clock` (its sessions expire in simulated time).
    func movePaymentsClock(to t: Date) async throws {
        guard let channels = settings.patientChannels else { return }
        try await PatientPhone.setPaymentsClock(t, stripeEmulatorURL: channels.stripeEmulatorURL)
    }

    /// Whether the notify and payments workers are done with `now` (always, without patient channels).
    func messagingQuiet(at now: Date) async throws -> Bool {
        guard let channels = settings.patientChannels else { return true }
        let topics = settings.topics
        return try await pool.withConnection { conn in
            try await SimulationMessagingRepository.backlog(
                messagesTopic: topics[.patientMessages], notifyConsumer: channels.notifyGroup, depositsTopic: topics[.depositRequests],
                paymentsConsumer: channels.paymentsGroup, now: now, on: conn)
        } == 0
    }

    /// The next moment a delivery (quiet hours) or a deposit's session call falls due, after `now`.
    func nextMessagingMoment(after now: Date) async throws -> Date? {
        guard settings.patientChannels != nil else { return nil }
        return try await pool.withConnection { try await SimulationMessagingRepository.nextDue(after: now, on: $0) }
    }

    /// The month's messaging figures next to the outcome (without patient channels, none).
    func withMessagingFigures(_ outcome: SimulationOutcome) async throws -> SimulationOutcome {
        guard settings.patientChannels != nil else { return outcome }
        var o = outcome
        let organization = model.organizationID
        o.messaging = try await pool.withConnection { try await MessagingFigures.load(organizationID: organization, on: $0) }
        return o
    }
}

/// The simulated patient's hands on the emulators' emulator-only controls and pages.
public enum PatientPhone {
    /// The patient texts `body` to our number through the Twilio emulator, which delivers it, signed, to our
    /// inbound webhook; the TwiML answers it got back.
    public static func text(from: String, to: String, body: String, twilioEmulatorURL: String) async throws -> [String] {
        let json = try await post(
            "\(twilioEmulatorURL)/_emulator/inbound", form: [("From", from), ("To", to), ("Body", body)], expecting: [200])
        return json?["replies"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// How a text went: an opt-out, a reply that booked (or holds a provisional booking), or one that did not.
    public static func outcome(ofText body: String, answers: [String]) -> String {
        if ConsentKeyword(message: body) == .optOut { return "opt_out" }
        guard let answer = answers.first else { return "reply_unanswered" }
        if answer.hasPrefix("You're booked") { return "reply_booked" }
        if answer.hasPrefix("We are holding") { return "reply_provisional" }
        return "reply_not_booked"
    }

    /// The patient pays on the Stripe emulator's checkout page; false when the session was no longer open
    /// (it expired, in business time, before they paid).
    public static func pay(checkoutURL: String) async throws -> Bool {
        let paid = try await SimulationHTTP.send(
            "POST", checkoutURL, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("action=pay".utf8))
        return paid.status == 200
    }

    /// Sets the Stripe emulator's business clock (emulator-only `POST /_emulator/clock`).
    public static func setPaymentsClock(_ t: Date, stripeEmulatorURL: String) async throws {
        _ = try await post(
            "\(stripeEmulatorURL)/_emulator/clock", form: [("now", String(Int64(t.timeIntervalSince1970.rounded(.down))))],
            expecting: [200])
    }

    static func post(_ url: String, form: [(String, String)], expecting: Set<Int>) async throws -> JSONValue? {
        let response = try await SimulationHTTP.send(
            "POST", url, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(FormURLEncoding.encode(form).utf8))
        guard expecting.contains(response.status) else {
            throw SimulationError(description: "emulator call \(URL(string: url)?.path ?? url) failed")
        }
        return try? JSONParser.parse(response.body)
    }
}
