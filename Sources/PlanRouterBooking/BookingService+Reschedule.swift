import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// A booked case as its reschedule link shows it: the current appointment and the openings held to move it to.
public struct RescheduleView: Sendable {
    public enum State: String, Sendable {
        /// Booked, far enough ahead to move online.
        case open
        /// The appointment starts within the location's offer lead time, or has passed: too late to move online.
        case tooLate = "too_late"
        /// The case has no booking of ours any more (cancelled, closed, or booked in the PMS directly).
        case notBooked = "not_booked"
    }

    public var state: State
    public var planID: String
    public var firstName: String = ""
    public var locationID: String = ""
    public var locationName: String = ""
    public var timeZone: TimeZone = TimeZone(identifier: "UTC")!
    /// The current appointment (nil when not booked).
    public var booking: HeldOpening? = nil
    /// The openings held for the move (empty: none in the horizon, or the state is not `open`).
    public var openings: [HeldOpening] = []
    /// The calendar file's stable UID (the chain's first booking) and its SEQUENCE, for the moved page's download.
    public var calendarUID: Int64 = 0
    public var sequence: Int = 0
}

/// What a reschedule link did.
public enum RescheduleResult: Sendable {
    /// Forged, expired, another purpose's or another organization's link: all answered alike.
    case notFound
    case shown(RescheduleView)
    /// The chosen opening is no longer available; the view lists the ones that are.
    case conflict(RescheduleView)
    /// The booking now stands at `view.booking` (moved now, or by an earlier submit of the same choice).
    case moved(RescheduleView)
}

extension BookingService {
    /// `<base>/reschedule/<token>`: moves the case's booking; the link expires at the appointment's start.
    func rescheduleLink(_ key: PlanKey, _ booking: ActiveBooking) -> String {
        let token = BookingToken(
            offerID: 0, organizationID: key.organizationID, planID: key.planID, expiresAt: booking.start, purpose: .reschedule)
        return "\(configuration.linkBaseURL)/reschedule/\(token.sign(secret: configuration.bookingKey))"
    }

    /// `GET /reschedule/{token}`: the current appointment and openings to move it to. The openings are held through
    /// the offer planner's hold path (`laterOpenings`: the case's eligibility, from the next local day) only when
    /// the case holds no valid opening already, so reloading the page reuses them: at most the rules' number of
    /// openings is held per case, and stale ones are released (`release_reason = 'reschedule_refreshed'`) in the
    /// same transaction as the new ones are held.
    public func reschedule(token: String) async throws -> RescheduleResult {
        let now = try await clock.now()
        guard let t = verified(token, now: now, purpose: .reschedule) else { return .notFound }
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        return try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> RescheduleResult in
            guard var view = try await rescheduleState(key, now: now, on: tx) else { return .notFound }
            guard view.state == .open else { return .shown(view) }
            if view.openings.isEmpty, let find = configuration.laterOpenings {
                let stale = try await ReservationsRepository.releaseHolds(of: [key], reason: "reschedule_refreshed", now: now, on: tx)
                try await LocationsRepository.bumpCalendars(stale, on: tx)
                let found = try await find(key, Int64(now.timeIntervalSince1970), tx, now)
                // Only what changed is recorded: reloading a page with nothing to offer adds no history.
                if !found.isEmpty || !stale.isEmpty {
                    try await PlanEventsRepository.append(
                        [
                            PlanEventRow(
                                organizationID: key.organizationID, planID: key.planID, locationID: view.locationID,
                                kind: "reschedule_offered", source: "planrouter/booking", occurredAt: now,
                                detail: .object(["openings": .int(Int64(found.count)), "released": .int(Int64(stale.count))]))
                        ], recordedAt: now, on: tx)
                }
                view.openings = try await validHolds(key, view, now: now, on: tx)
            }
            return .shown(view)
        }
    }

    /// `POST /reschedule/{token}`: moves the booking to the held opening `reservationID` in one transaction (the
    /// plan row locked, so two submits serialize): the old booking released (`release_reason = 'rescheduled'`),
    /// the hold booked in place, the case's other holds released, a `rescheduled` plan event, an appointment
    /// request naming the one it replaces (the write-back moves the PMS appointment), and a new confirmation
    /// whose calendar file keeps the UID and bumps SEQUENCE. The case stays `booked`. Choosing the time the
    /// booking already stands at (a double submit) changes nothing.
    public func move(token: String, reservationID: Int64) async throws -> RescheduleResult {
        let now = try await clock.now()
        guard let t = verified(token, now: now, purpose: .reschedule) else { return .notFound }
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        return try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> RescheduleResult in
            guard var view = try await rescheduleState(key, now: now, on: tx), let old = view.booking else {
                return .notFound
            }
            if old.reservationID == reservationID { return .moved(view) }
            guard view.state == .open else { return .shown(view) }
            let earliest = try await earliestStart(key.organizationID, view.locationID, now: now, on: tx)
            guard let h = try await ReservationsRepository.lockHold(reservationID, of: key, now: now, earliestStart: earliest, on: tx),
                try await ReservationsRepository.holdFitsMirror(reservationID, of: key, on: tx)
            else {
                view.openings.removeAll { $0.reservationID == reservationID }
                return .conflict(view)
            }
            let opening = HeldOpening(h)
            let origin = try await PlanEventsRepository.bookingOrigin(key, reservationID: old.reservationID, on: tx)
            _ = try await ReservationsRepository.releaseBooking(old.reservationID, of: key, reason: "rescheduled", now: now, on: tx)
            try await ReservationsRepository.book(opening.reservationID, of: key, now: now, on: tx)
            let freed = try await ReservationsRepository.releaseHolds(of: [key], reason: "booked_other", now: now, on: tx)
            try await LocationsRepository.bumpCalendars(
                Array(Set(freed + [LocationKey(organizationID: key.organizationID, locationID: view.locationID)])), on: tx)

            let requestID = UUID().uuidString.lowercased()
            let sequence = (origin?.sequence ?? 0) + 1
            var detail: JSONObject = [
                "reservation_id": .int(opening.reservationID), "from_reservation_id": .int(old.reservationID),
                "first_reservation_id": .int(origin?.firstReservationID ?? old.reservationID), "sequence": .int(Int64(sequence)),
                "via": .string(BookedVia.link.rawValue),
            ]
            if let replaced = origin?.requestID { detail["replaces_request_id"] = .string(replaced) }
            try await PlanEventsRepository.append(
                [
                    PlanEventRow(
                        organizationID: key.organizationID, planID: key.planID, locationID: view.locationID, kind: "rescheduled",
                        source: "planrouter/booking", eventID: requestID, occurredAt: now, detail: .object(detail))
                ], recordedAt: now, on: tx)
            guard let patientID = try await PlansRepository.stored([key], on: tx).first?.patientID else { return .notFound }
            let request = AppointmentRequest(
                requestID: requestID, organizationID: key.organizationID, locationID: view.locationID, planID: key.planID,
                patientID: patientID, providerID: opening.providerID, operatoryID: opening.operatoryID,
                start: OffsetDateTime(Date(timeIntervalSince1970: Double(opening.start)), in: view.timeZone),
                end: OffsetDateTime(Date(timeIntervalSince1970: Double(opening.end)), in: view.timeZone),
                procedureCodes: try await PlansRepository.procedureCodes(key, on: tx), bookedVia: .link, bookedAt: now,
                replacesRequestID: origin?.requestID)
            let problems = EventValidator.shared.validate(request)
            guard problems.isEmpty else {
                // Names no values; the transaction rolls back and the booking stays where it was.
                throw BookingInternalError(description: "appointment request fails its schema (\(problems.count) problems)")
            }
            var outbox = OutboxBatch()
            outbox.append(
                CloudEvent(id: requestID, source: "planrouter/booking", time: now, subject: key.planID, data: request),
                topic: configuration.topics[.appointmentRequests])
            try await confirmation(key, patientID: patientID, requestID: requestID, outbox: &outbox, now: now, in: tx)
            try await outbox.insert(on: tx, now: now)
            logger.debug("patient moved a booking", metadata: ["booking.sequence": "\(sequence)"])
            view.booking = opening
            view.openings = []
            view.calendarUID = origin?.firstReservationID ?? old.reservationID
            view.sequence = sequence
            return .moved(view)
        }
    }

    /// The case behind a reschedule link, its plan row locked: nil when the organization has no such plan.
    private func rescheduleState(_ key: PlanKey, now: Date, on tx: PostgresConnection) async throws -> RescheduleView? {
        guard let state = try await PlansRepository.lockedState(key, on: tx) else {
            refused("unknown_plan")
            return nil
        }
        var view = RescheduleView(state: .notBooked, planID: key.planID)
        guard state.status == CaseStatus.booked.rawValue, let b = try await ReservationsRepository.activeBooking(key, on: tx) else {
            return view
        }
        let plan = try await PlansRepository.stored([key], on: tx).first
        let patient = plan.flatMap { try? JSONParser.parse($0.patientJSON) } ?? .null
        view.firstName = patient["first_name"]?.stringValue ?? ""
        view.locationName = b.locationName
        view.timeZone = TimeZone(identifier: b.timeZone) ?? TimeZone(identifier: "UTC")!
        view.booking = HeldOpening(reservationID: b.reservationID, providerID: b.providerID, operatoryID: nil, start: b.start, end: b.end)
        view.locationID = b.locationID
        let origin = try await PlanEventsRepository.bookingOrigin(key, reservationID: b.reservationID, on: tx)
        view.calendarUID = origin?.firstReservationID ?? b.reservationID
        view.sequence = origin?.sequence ?? 0
        let earliest = try await earliestStart(key.organizationID, b.locationID, now: now, on: tx)
        guard Double(b.start) >= earliest.timeIntervalSince1970 else {
            view.state = .tooLate
            return view
        }
        view.state = .open
        view.openings = try await validHolds(key, view, now: now, on: tx)
        return view
    }

    /// The case's holds still bookable: active, unexpired, after now + the lead time, fitting the mirror.
    private func validHolds(_ key: PlanKey, _ view: RescheduleView, now: Date, on tx: PostgresConnection) async throws -> [HeldOpening] {
        let earliest = Int64(try await earliestStart(key.organizationID, view.locationID, now: now, on: tx).timeIntervalSince1970)
        var out: [HeldOpening] = []
        for h in try await ReservationsRepository.heldForCases([key], now: now, on: tx) where h.start >= earliest {
            if try await ReservationsRepository.holdFitsMirror(h.reservationID, of: key, on: tx) { out.append(HeldOpening(h)) }
        }
        return out
    }
}
