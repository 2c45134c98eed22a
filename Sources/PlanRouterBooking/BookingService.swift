import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry
import Synchronization

/// Settings of the booking service.
public struct BookingConfiguration: Sendable {
    /// HMAC key of booking links; the offer worker must sign with the same secret.
    public var bookingKey: BookingKey
    /// ISO 4217 currency of deposits (as the offer worker's `--currency`).
    public var currency: String = "USD"
    /// Where the pms.appointment-requests events go.
    public var topics: TopicNames
    /// Largest request body accepted (form or JSON). Default: 16 KiB.
    public var maximumBodyBytes: Int = 16 * 1024
    /// Holds later openings for a case ("Show me later times"): `planrouter serve` passes the offer
    /// planner's `holdLater`. Nil: the page offers only the call-back.
    public var laterOpenings: LaterOpenings? = nil
    /// How many times one link may ask for later times; then only the call-back is offered. Default: 2.
    public var laterTimesLimit: Int = 2
    /// Scheme and host of the public surface, for the links a confirmation carries (as the offer
    /// worker's booking base URL). Default: http://localhost:8080.
    public var linkBaseURL: String = "http://localhost:8080"

    public init(bookingKey: BookingKey, topics: TopicNames = .init()) {
        self.bookingKey = bookingKey
        self.topics = topics
    }
}

/// Holds up to the rules' number of openings of a case starting after `after` (epoch seconds), in the
/// caller's transaction; returns them in start order (empty: nothing later in the horizon).
public typealias LaterOpenings =
    @Sendable (_ key: PlanKey, _ after: Int64, _ tx: PostgresConnection, _ now: Date) async throws -> [(
        reservationID: Int64, providerID: String
    )]

/// An opening held for the patient, as shown on the booking page.
public struct HeldOpening: Sendable, Hashable {
    public var reservationID: Int64
    public var providerID: String
    public var operatoryID: String?
    public var start: Int64
    public var end: Int64
}

/// The offer a booking acts on: what a verified link names, or the offer a coordinator picked on
/// the case page (both book through `BookingService.book(_:reservationID:via:now:in:)`).
public struct OfferReference: Sendable, Hashable {
    public var organizationID: String
    public var planID: String
    public var offerID: Int64

    public init(organizationID: String, planID: String, offerID: Int64) {
        self.organizationID = organizationID
        self.planID = planID
        self.offerID = offerID
    }
}

extension BookingToken {
    var offer: OfferReference { OfferReference(organizationID: organizationID, planID: planID, offerID: offerID) }
}

/// What a valid booking link shows: the case's held openings of this offer.
public struct OfferView: Sendable {
    public var offerID: Int64
    public var organizationID: String
    public var planID: String
    public var locationID: String
    public var locationName: String
    /// The number patients can call (locations.yaml), when set.
    public var locationPhone: String? = nil
    public var timeZone: TimeZone
    /// The only patient detail shown: the first name.
    public var firstName: String
    public var patientID: String = ""
    public var depositCents: Int64
    public var openings: [HeldOpening]
    /// How many openings the offer named that are no longer available (taken, expired, too
    /// close or past, or no longer in the practice's schedule).
    public var gone: Int = 0
    /// How many times the link asked for later times; the page's form sends it back, so a double
    /// submit of one page moves on only once.
    public var laterRound: Int = 0
    /// Whether the page offers "Show me later times" (configured, and under the limit).
    public var laterTimesLeft: Bool = false
    /// The last "Show me later times" found nothing later in the horizon.
    public var noLaterTimes: Bool = false
}

extension HeldOpening {
    init(_ r: HeldReservation) {
        self.init(reservationID: r.reservationID, providerID: r.providerID, operatoryID: r.operatoryID, start: r.start, end: r.end)
    }
}

/// A booking made through a link (or a reply to the offer text).
public struct BookingConfirmation: Sendable {
    public var offer: OfferView
    public var opening: HeldOpening
    /// The appointment request's id; for a provisional booking, the deposit's id.
    public var requestID: String
    /// Set for a provisional booking (deposit_to_confirm): the hold is kept until then, and the
    /// deposit's payment confirms it.
    public var provisionalUntil: Date? = nil
}

/// A provisional booking waiting for its deposit, as the used link's page shows it.
public struct PendingDeposit: Sendable {
    public var firstName: String
    public var amountCents: Int64
    public var dueBy: Date
    public var timeZone: TimeZone
    /// Stripe Checkout's page; nil until the payments worker created the session.
    public var checkoutURL: String?
    /// deposit_to_confirm: the visit is held until paid; deposit_after_booking: booked already.
    public var policy: DepositPolicy
}

/// What "none of these work: please call me" did.
public enum CallBackResult: Sendable {
    /// An invalid, expired or used link, or a case no longer open.
    case notFound
    /// A coordinator will call (the task was created now or already existed).
    case requested(OfferView)
}

public enum BookingResult: Sendable {
    case booked(BookingConfirmation)
    /// The opening is no longer available (taken, expired, too close or past, or no longer in the
    /// practice's schedule); `offer.openings` are the ones still valid.
    case conflict(OfferView)
    /// Forged, expired, unknown or used link: all answered alike.
    case notFound
}

public enum TaskOutcome: String, Sendable, CaseIterable {
    case bookedByPhone = "booked_by_phone"
    case declined
    case unreachable
    case other
}

struct BookingInternalError: Error, CustomStringConvertible {
    var description: String
}

/// The booking service's work on the database: booking pages and self-booking (the public
/// surface). HTTP is in `BookingRouter`; this type knows nothing of it.
///
/// Lock order, to rule out deadlocks between concurrent bookings and task resolutions:
/// offer row, then plan row, then the plan's tasks, reservations and timers.
public struct BookingService: Sendable {
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let configuration: BookingConfiguration
    public let metrics: BookingMetrics
    let logger: Logger
    let rules = RulesInForce()

    public init(
        pool: PostgresPool, clock: any PlanRouterClock, configuration: BookingConfiguration, metrics: BookingMetrics = BookingMetrics(),
        logger: Logger
    ) {
        self.pool = pool
        self.clock = clock
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: Booking links

    /// The page behind a link, or nil for any invalid link.
    public func offer(token: String) async throws -> OfferView? {
        let now = try await clock.now()
        guard let t = verified(token, now: now) else { return nil }
        // Every transaction of a link sees only the organization the signed token names (row-level security).
        var view = try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> OfferView? in
            return try await loadOffer(t.offer, lock: false, now: now, on: tx)
        }
        if view == nil { refused("unknown_or_used") }
        if let v = view, v.openings.isEmpty {
            // Nothing left to book: the page says the practice will be in touch, and makes sure it will.
            view = try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> OfferView? in
                guard let o = try await loadOffer(t.offer, lock: true, now: now, on: tx) else { return nil }
                if o.openings.isEmpty { try await handOver(o, now: now, in: tx) }
                return o
            }
        }
        return view
    }

    /// Books `reservationID` for the link's plan, in one transaction.
    public func book(token: String, reservationID: Int64) async throws -> BookingResult {
        let now = try await clock.now()
        guard let t = verified(token, now: now) else { return .notFound }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx in
                    return try await bookInTransaction(t.offer, reservationID: reservationID, via: .link, now: now, in: tx)
                }
                switch result {
                case .booked: metrics.booked()
                case .conflict: metrics.conflict()
                case .notFound: refused("unknown_or_used")
                }
                return result
            } catch let e as PostgresError where e.isRetriable && attempt < 3 {
                logger.debug("booking transaction retried", metadata: ["booking.attempt": "\(attempt)", "error.code": "\(e.code)"])
            }
        }
    }

    /// "None of these work: please call me": the case goes to a coordinator (a `callback` task
    /// saying so, the case `escalated` so the ladder stops texting) and the link's held times are
    /// released for other patients, in one transaction. A case already with a coordinator keeps
    /// its task; asking twice changes nothing.
    public func callBack(token: String) async throws -> CallBackResult {
        let now = try await clock.now()
        guard let t = verified(token, now: now) else { return .notFound }
        return try await pool.withTransaction(scopedTo: .organization(t.organizationID)) { tx -> CallBackResult in
            guard let offer = try await loadOffer(t.offer, lock: true, now: now, on: tx) else { return .notFound }
            let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
            var outbox = OutboxBatch()
            let created = try await CaseHandOver.toCoordinator(
                [key], kind: .callback, reason: "the patient says none of the offered times work and asked to be called",
                source: "planrouter/booking", topics: configuration.topics, outbox: &outbox, now: now, on: tx)
            if !created.isEmpty {
                let freed = try await ReservationsRepository.releaseHolds(of: [key], reason: "declined_by_patient", now: now, on: tx)
                try await LocationsRepository.bumpCalendars(freed, on: tx)
                try await outbox.insert(on: tx, now: now)
                logger.debug("patient asked for a call from the booking link", metadata: ["booking.offer_id": "\(offer.offerID)"])
            }
            var view = offer
            view.openings = []
            return .requested(view)
        }
    }

    func verified(_ token: String, now: Date, purpose: BookingToken.Purpose = .book) -> BookingToken? {
        do {
            return try BookingToken.verify(
                token, secret: configuration.bookingKey, now: Int64(now.timeIntervalSince1970.rounded(.down)), purpose: purpose)
        } catch {
            refused("invalid_or_expired")
            return nil
        }
    }

    /// Logs a refused link at debug: never the token, only the reason class and the running count.
    func refused(_ reason: String) {
        let count = metrics.tokenFailure()
        logger.debug("booking link refused", metadata: ["booking.refusal": "\(reason)", "booking.token_failures": "\(count)"])
    }

    /// The offer named by a verified token, when it is still usable, with its openings still valid.
    func loadOffer(_ t: OfferReference, lock: Bool, now: Date, on conn: PostgresConnection) async throws -> OfferView? {
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        guard let r = try await OffersRepository.linked(offerID: t.offerID, key, lock: lock, on: conn) else { return nil }
        guard !r.used, r.planStatus == CaseStatus.offered.rawValue || r.planStatus == CaseStatus.escalated.rawValue else { return nil }
        var view = OfferView(
            offerID: r.offerID, organizationID: t.organizationID, planID: t.planID,
            locationID: r.locationID, locationName: r.locationName,
            timeZone: TimeZone(identifier: r.timeZone) ?? TimeZone(identifier: "UTC")!,
            firstName: r.firstName, patientID: r.patientID, depositCents: r.depositCents, openings: [])
        view.locationPhone = r.locationPhone
        view.laterRound = r.laterRounds
        view.laterTimesLeft = configuration.laterOpenings != nil && r.laterRounds < configuration.laterTimesLimit
        view.openings = try await heldOpenings(view, now: now, on: conn)
        view.gone = max(0, r.offeredCount - view.openings.count)
        return view
    }

    /// This offer's openings that are still valid: active, unexpired holds of the plan that start after
    /// now + the location's offer lead time and still fit the mirrored calendar.
    private func heldOpenings(_ o: OfferView, now: Date, on conn: PostgresConnection) async throws -> [HeldOpening] {
        try await ReservationsRepository.heldOpenings(
            of: o.offerID, PlanKey(organizationID: o.organizationID, planID: o.planID), now: now,
            earliestStart: try await earliestStart(o.organizationID, o.locationID, now: now, on: conn), on: conn
        ).map(HeldOpening.init)
    }

    /// Now + the offer lead time of the location's rules (`offer.same_visit_buffer`, as the offer worker uses it).
    func earliestStart(_ organization: String, _ location: String, now: Date, on conn: PostgresConnection) async throws -> Date {
        let lead = try await rules.rules(for: organization, on: conn).resolved(for: location).offer.sameVisitBufferMinutes
        return now.addingTimeInterval(Double(max(0, lead) * 60))
    }

    /// A case whose link has no valid opening left goes to a coordinator now (once: only an `offered`
    /// case moves), rather than waiting for the ladder — unless a newer offer of the case still holds
    /// valid openings (an old link was opened).
    private func handOver(_ o: OfferView, now: Date, in tx: PostgresConnection) async throws {
        let key = PlanKey(organizationID: o.organizationID, planID: o.planID)
        let earliest = try await earliestStart(o.organizationID, o.locationID, now: now, on: tx)
        if try await ReservationsRepository.hasValidHold(key, now: now, earliestStart: earliest, on: tx) { return }
        var outbox = OutboxBatch()
        let created = try await CaseHandOver.toCoordinator(
            [PlanKey(organizationID: o.organizationID, planID: o.planID)], kind: .noAvailability,
            reason: "the patient opened the booking link but none of the openings offered is still available; call to find a time",
            urgent: true, source: "planrouter/booking", topics: configuration.topics, outbox: &outbox, now: now, on: tx)
        if !created.isEmpty {
            try await outbox.insert(on: tx, now: now)
            logger.debug("booking link with no valid opening handed to a coordinator", metadata: ["booking.offer_id": "\(o.offerID)"])
        }
    }

    // MARK: Booking on the patient's behalf

    /// What the offer's link would show now (its openings still valid), or nil when the link
    /// could not be used (offer used, case no longer open): the case page lists these.
    public func openings(_ offer: OfferReference, now: Date, on conn: PostgresConnection) async throws -> OfferView? {
        try await loadOffer(offer, lock: false, now: now, on: conn)
    }

    /// Books `reservationID` of `offer` for the patient in the caller's transaction: the same
    /// checks and records as the patient's link (`via` tells them apart), so a coordinator's
    /// booking and a patient's are one code path. The caller counts the booking (`metrics.booked()`)
    /// once its transaction committed.
    public func book(
        _ offer: OfferReference, reservationID: Int64, via: BookedVia, now: Date, in tx: PostgresConnection
    ) async throws -> BookingResult {
        try await bookInTransaction(offer, reservationID: reservationID, via: via, now: now, in: tx)
    }

    /// The one booking transaction of a link, a texted reply and a coordinator's booking.
    func bookInTransaction(
        _ t: OfferReference, reservationID: Int64, via: BookedVia, now: Date, in tx: PostgresConnection
    ) async throws -> BookingResult {
        // Serializes concurrent uses of one link: the second waits here and then sees used_at.
        guard let offer = try await loadOffer(t, lock: true, now: now, on: tx) else { return .notFound }
        let key = PlanKey(organizationID: t.organizationID, planID: t.planID)
        let earliest = try await earliestStart(t.organizationID, offer.locationID, now: now, on: tx)
        guard let h = try await ReservationsRepository.lockHold(reservationID, of: key, now: now, earliestStart: earliest, on: tx),
            offer.openings.contains(where: { $0.reservationID == reservationID }),
            // Re-checked against the current mirror under the lock: a schedule or PMS change may have removed the time.
            try await ReservationsRepository.holdFitsMirror(reservationID, of: key, on: tx)
        else {
            var rest = offer
            rest.openings.removeAll { $0.reservationID == reservationID }
            rest.gone = offer.gone + (rest.openings.count < offer.openings.count ? 1 : 0)
            if rest.openings.isEmpty { try await handOver(rest, now: now, in: tx) }
            return .conflict(rest)
        }
        let opening = HeldOpening(h)
        let deposit = try await depositTerms(key, offer, on: tx)
        var outbox = OutboxBatch()
        var booked = offer
        booked.openings = [opening]
        try await OffersRepository.markUsed(offer.offerID, now: now, on: tx)
        if let deposit, deposit.policy == .depositToConfirm {
            let until = try await provisional(key, offer, opening, deposit, via: via, now: now, outbox: &outbox, in: tx)
            try await outbox.insert(on: tx, now: now)
            return .booked(BookingConfirmation(offer: booked, opening: opening, requestID: until.depositID, provisionalUntil: until.dueBy))
        }
        let requestID = try await confirm(
            key, locationID: offer.locationID, timeZone: offer.timeZone, opening: opening,
            detail: ["offer_id": .int(offer.offerID), "via": .string(via.rawValue)], via: via,
            outbox: &outbox, now: now, in: tx)
        if let deposit {
            // deposit_after_booking: booked now, the deposit asked for after (its own message and link).
            outbox.append(
                depositRequest(key, offer, deposit, reservationID: nil, dueBy: now.addingTimeInterval(24 * 3600), now: now),
                topic: configuration.topics[.depositRequests])
        }
        try await outbox.insert(on: tx, now: now)
        return .booked(BookingConfirmation(offer: booked, opening: opening, requestID: requestID))
    }

    /// The case's deposit and its policy (its tier's in the location's rules); nil when it takes none.
    struct DepositTerms {
        var cents: Int64
        var tier: String?
        var policy: DepositPolicy
        var holdSeconds: Int
    }

    private func depositTerms(_ key: PlanKey, _ offer: OfferView, on conn: PostgresConnection) async throws -> DepositTerms? {
        // The deposit and its tier come from the classification; a case without one has no deposit policy.
        guard offer.depositCents > 0, let tier = try await ClassificationsRepository.latestTier(key, on: conn) else { return nil }
        let rules = try await rules.rules(for: key.organizationID, on: conn).resolved(for: offer.locationID)
        guard let d = rules.tiers.first(where: { $0.name == tier })?.deposit else { return nil }
        return DepositTerms(cents: offer.depositCents, tier: tier, policy: d.policy, holdSeconds: d.holdSeconds)
    }

    /// deposit_to_confirm: the chosen hold is kept (until the deposit's deadline), the plan's other
    /// holds and its ladder stop, a deposit-expiry timer is set, and the deposit is requested. The case
    /// stays `offered`/`escalated` until the payment confirms it; nothing goes to the PMS yet.
    private func provisional(
        _ key: PlanKey, _ offer: OfferView, _ opening: HeldOpening, _ deposit: DepositTerms, via: BookedVia, now: Date,
        outbox: inout OutboxBatch, in tx: PostgresConnection
    ) async throws -> (depositID: String, dueBy: Date) {
        let dueBy = now.addingTimeInterval(Double(deposit.holdSeconds))
        try await CaseLockRepository.lockHoldLocations(organizations: [key.organizationID], plans: [key.planID], on: tx)
        let others = try await ReservationsRepository.heldForCases([key], now: now, on: tx).map(\.reservationID)
            .filter { $0 != opening.reservationID }
        let released = try await ReservationsRepository.releaseHolds(ids: others, reason: "provisional_other", now: now, on: tx)
        try await LocationsRepository.bumpCalendars(
            Array(Set(released.map { LocationKey(organizationID: $0.key.organizationID, locationID: $0.locationID) })), on: tx)
        try await ReservationsRepository.extendHolds([opening.reservationID], until: [dueBy], on: tx)
        let request = depositRequest(key, offer, deposit, reservationID: opening.reservationID, dueBy: dueBy, now: now)
        let depositID = request.id
        try await TimersRepository.pauseForDeposit(key, locationID: offer.locationID, depositID: depositID, dueAt: dueBy, now: now, on: tx)
        outbox.append(request, topic: configuration.topics[.depositRequests])
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: key.organizationID, planID: key.planID, locationID: offer.locationID, kind: "provisionally_booked",
                    source: "planrouter/booking", eventID: depositID, occurredAt: now,
                    detail: .object([
                        "offer_id": .int(offer.offerID), "reservation_id": .int(opening.reservationID), "deposit_id": .string(depositID),
                        "via": .string(via.rawValue),
                        "due_by": .string(RFC3339.format(dueBy)),
                    ]))
            ], recordedAt: now, on: tx)
        return (depositID, dueBy)
    }

    private func depositRequest(
        _ key: PlanKey, _ offer: OfferView, _ deposit: DepositTerms, reservationID: Int64?, dueBy: Date, now: Date
    ) -> CloudEvent {
        let d = DepositRequest(
            requestID: UUID().uuidString.lowercased(), organizationID: key.organizationID, locationID: offer.locationID, planID: key.planID,
            patientID: offer.patientID, amountCents: deposit.cents, currency: configuration.currency, tier: deposit.tier.map { Tier($0) },
            reason: "deposit for \(deposit.tier ?? "the") treatment", dueBy: dueBy, policy: deposit.policy, reservationID: reservationID)
        return CloudEvent(id: d.requestID, source: "planrouter/booking", time: now, subject: key.planID, data: d)
    }

    /// The held `opening` becomes the case's booking: the hold turns into the booking in place, the
    /// case's other holds, timers and tasks end, the case is `booked` (it must be offered or escalated,
    /// and locked by the caller), and the schema-checked appointment request goes to the outbox.
    /// Returns the request's id. Shared by links, replies and paid deposits.
    func confirm(
        _ key: PlanKey, locationID: String, timeZone: TimeZone, opening: HeldOpening, detail: JSONObject, via: BookedVia = .link,
        outbox: inout OutboxBatch, now: Date, in tx: PostgresConnection
    ) async throws -> String {
        // The hold becomes the booking: same ranges, so the exclusion constraint cannot object.
        try await ReservationsRepository.book(opening.reservationID, of: key, now: now, on: tx)
        try await CaseWithdrawal.withdraw([key], holdReason: "booked_other", taskOutcome: "booked", now: now, on: tx)
        let plan = try await PlansRepository.transitionExpected(key, to: .booked, now: now, on: tx)

        let requestID = UUID().uuidString.lowercased()
        var eventDetail = detail
        eventDetail["reservation_id"] = .int(opening.reservationID)
        eventDetail["seconds_from_acceptance"] = .int(Int64(now.timeIntervalSince(plan.acceptedAt).rounded()))
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: key.organizationID, planID: key.planID, locationID: locationID, kind: "booked",
                    source: "planrouter/booking",
                    eventID: requestID, occurredAt: now, detail: .object(eventDetail))
            ], recordedAt: now, on: tx)

        let request = AppointmentRequest(
            requestID: requestID, organizationID: key.organizationID, locationID: locationID, planID: key.planID, patientID: plan.patientID,
            providerID: opening.providerID, operatoryID: opening.operatoryID,
            start: OffsetDateTime(Date(timeIntervalSince1970: Double(opening.start)), in: timeZone),
            end: OffsetDateTime(Date(timeIntervalSince1970: Double(opening.end)), in: timeZone),
            procedureCodes: try await PlansRepository.procedureCodes(key, on: tx), bookedVia: via, bookedAt: now)
        let problems = EventValidator.shared.validate(request)
        guard problems.isEmpty else {
            // The problems name fields, not values; the transaction rolls back and nothing is booked.
            throw BookingInternalError(description: "appointment request fails its schema (\(problems.count) problems)")
        }
        outbox.append(
            CloudEvent(id: requestID, source: "planrouter/booking", time: now, subject: key.planID, data: request),
            topic: configuration.topics[.appointmentRequests])
        try await confirmation(key, patientID: plan.patientID, requestID: requestID, outbox: &outbox, now: now, in: tx)
        try await SeriesVisits.booked(
            key, start: Date(timeIntervalSince1970: Double(opening.start)), appointmentID: nil, source: "planrouter/booking",
            eventID: requestID,
            now: now, on: tx)
        return requestID
    }

    // MARK: Health

    /// Whether the database answers `SELECT 1` within `timeout`.
    public func databaseAnswers(timeout: Duration = .seconds(2)) async -> Bool {
        await withDeadline(timeout) { [pool] in try await pool.withConnection { try await SchemaRepository.ping(on: $0) } } ?? false
    }
}

/// The routing rules in force per organization, parsed once per version (for the offer lead time).
final class RulesInForce: Sendable {
    private let parsed = Mutex<[String: (version: Int, rules: RoutingRules)]>([:])

    func rules(for organization: String, on conn: PostgresConnection) async throws -> RoutingRules {
        guard let current = try await RulesRepository.inForce(for: organization, on: conn) else { return .defaults }
        let key = current.organization
        if let cached = parsed.withLock({ $0[key] }), cached.version == current.version { return cached.rules }
        let rules = try RoutingRules(yaml: current.yaml)
        parsed.withLock { $0[key] = (current.version, rules) }
        return rules
    }
}
