import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterWorkers

/// Settings of the booking service.
public struct BookingConfiguration: Sendable {
    /// HMAC key of booking links; the offer worker must sign with the same secret.
    public var bookingKey: BookingKey
    /// Where the pms.appointment-requests events go.
    public var topics: TopicNames
    /// Largest request body accepted (form or JSON). Default: 16 KiB.
    public var maximumBodyBytes: Int = 16 * 1024
    /// Most tasks `GET /tasks` returns. Default: 500.
    public var maximumTasks: Int = 500

    public init(bookingKey: BookingKey, topics: TopicNames = .init()) {
        self.bookingKey = bookingKey
        self.topics = topics
    }
}

/// An opening held for the patient, as shown on the booking page.
public struct HeldOpening: Sendable, Hashable {
    public var reservationID: Int64
    public var providerID: String
    public var operatoryID: String?
    public var start: Int64
    public var end: Int64
}

/// What a valid booking link shows: the case's held openings of this offer.
public struct OfferView: Sendable {
    public var offerID: Int64
    public var organizationID: String
    public var planID: String
    public var locationID: String
    public var locationName: String
    public var timeZone: TimeZone
    /// The only patient detail shown: the first name.
    public var firstName: String
    public var depositCents: Int64
    public var openings: [HeldOpening]
}

/// A booking made through a link.
public struct BookingConfirmation: Sendable {
    public var offer: OfferView
    public var opening: HeldOpening
    public var requestID: String
}

public enum BookingResult: Sendable {
    case booked(BookingConfirmation)
    /// The opening was taken or expired; `offer.openings` are the ones still held.
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

public enum ResolveResult: Sendable {
    case resolved(JSONValue)
    case notFound
    case notOpen
}

struct BookingInternalError: Error, CustomStringConvertible {
    var description: String
}

/// The booking service's work on the database: booking pages, self-booking, and the
/// coordinator task API. HTTP is in `BookingRouter`; this type knows nothing of it.
///
/// Lock order, to rule out deadlocks between concurrent bookings and task resolutions:
/// offer row, then plan row, then the plan's tasks, reservations and timers.
public struct BookingService: Sendable {
    let pool: PostgresPool
    let clock: any PlanRouterClock
    let configuration: BookingConfiguration
    public let metrics: BookingMetrics
    let logger: Logger

    public init(pool: PostgresPool, clock: any PlanRouterClock, configuration: BookingConfiguration, metrics: BookingMetrics = BookingMetrics(), logger: Logger) {
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
        let view = try await pool.withConnection { conn -> OfferView? in
            guard let o = try await loadOffer(t, lock: false, now: now, on: conn) else { return nil }
            return o
        }
        if view == nil { refused("unknown_or_used") }
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
                let result = try await pool.withTransaction { tx in try await book(t, reservationID: reservationID, now: now, in: tx) }
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

    private func verified(_ token: String, now: Date) -> BookingToken? {
        do {
            return try BookingToken.verify(token, secret: configuration.bookingKey, now: Int64(now.timeIntervalSince1970.rounded(.down)))
        } catch {
            refused("invalid_or_expired")
            return nil
        }
    }

    /// Logs a refused link at debug: never the token, only the reason class and the running count.
    private func refused(_ reason: String) {
        let count = metrics.tokenFailure()
        logger.debug("booking link refused", metadata: ["booking.refusal": "\(reason)", "booking.token_failures": "\(count)"])
    }

    /// The offer named by a verified token, when it is still usable, with its held openings.
    private func loadOffer(_ t: BookingToken, lock: Bool, now: Date, on conn: PostgresConnection) async throws -> OfferView? {
        let rows = try await conn.query(
            """
            SELECT o.id, o.location_id, o.deposit_cents, o.used_at IS NOT NULL, p.status, coalesce(p.patient->>'first_name', ''),
                   l.time_zone, l.name
            FROM offers o
            JOIN plans p ON p.organization_id = o.organization_id AND p.plan_id = o.plan_id
            JOIN locations l ON l.id = o.location_id
            WHERE o.id = $1 AND o.organization_id = $2 AND o.plan_id = $3
            """ + (lock ? " FOR UPDATE OF o, p" : ""),
            t.offerID, t.organizationID, t.planID)
        guard let r = rows.first else { return nil }
        let used = try r.decode(3, as: Bool.self)
        let status = try r.decode(4, as: String.self)
        guard !used, status == "offered" || status == "escalated" else { return nil }
        var view = OfferView(
            offerID: try r.decode(0, as: Int64.self), organizationID: t.organizationID, planID: t.planID,
            locationID: try r.decode(1, as: String.self), locationName: try r.decode(7, as: String.self),
            timeZone: TimeZone(identifier: try r.decode(6, as: String.self)) ?? TimeZone(identifier: "UTC")!,
            firstName: try r.decode(5, as: String.self), depositCents: try r.decode(2, as: Int64.self), openings: [])
        view.openings = try await heldOpenings(view, now: now, on: conn)
        return view
    }

    /// This offer's openings that are still held: active, unexpired holds of the plan.
    private func heldOpenings(_ o: OfferView, now: Date, on conn: PostgresConnection) async throws -> [HeldOpening] {
        try await conn.query(
            """
            SELECT r.id, r.provider_id, r.operatory_id, extract(epoch FROM lower(r.operatory_during))::int8,
                   extract(epoch FROM upper(r.operatory_during))::int8
            FROM reservations r
            WHERE r.organization_id = $1 AND r.plan_id = $2 AND r.kind = 'hold' AND r.active AND r.expires_at > $3
              AND r.id IN (SELECT (e->>'reservation_id')::int8 FROM offers, jsonb_array_elements(offers.openings) AS e WHERE offers.id = $4)
            ORDER BY lower(r.operatory_during), r.id
            """,
            o.organizationID, o.planID, now, o.offerID
        ).map {
            HeldOpening(
                reservationID: try $0.decode(0, as: Int64.self), providerID: try $0.decode(1, as: String.self),
                operatoryID: try $0.decode(2, as: String?.self), start: try $0.decode(3, as: Int64.self), end: try $0.decode(4, as: Int64.self))
        }
    }

    private func book(_ t: BookingToken, reservationID: Int64, now: Date, in tx: PostgresConnection) async throws -> BookingResult {
        // Serializes concurrent uses of one link: the second waits here and then sees used_at.
        guard let offer = try await loadOffer(t, lock: true, now: now, on: tx) else { return .notFound }
        let held = try await tx.query(
            """
            SELECT id, provider_id, operatory_id, extract(epoch FROM lower(operatory_during))::int8,
                   extract(epoch FROM upper(operatory_during))::int8
            FROM reservations
            WHERE id = $1 AND organization_id = $2 AND plan_id = $3 AND kind = 'hold' AND active AND expires_at > $4
            FOR UPDATE
            """, reservationID, t.organizationID, t.planID, now)
        guard let h = held.first else { return .conflict(offer) }
        let opening = HeldOpening(
            reservationID: try h.decode(0, as: Int64.self), providerID: try h.decode(1, as: String.self),
            operatoryID: try h.decode(2, as: String?.self), start: try h.decode(3, as: Int64.self), end: try h.decode(4, as: Int64.self))

        // The hold becomes the booking: same ranges, so the exclusion constraint cannot object.
        _ = try await tx.execute(
            "UPDATE reservations SET kind = 'booking', expires_at = NULL, status = 'booked', changed_at = $2 WHERE id = $1",
            opening.reservationID, now)
        try await CaseWithdrawal.withdraw(
            organizations: [t.organizationID], plans: [t.planID], holdReason: "booked_other", taskOutcome: "booked", now: now, in: tx)
        _ = try await tx.execute("UPDATE offers SET used_at = $2 WHERE id = $1", offer.offerID, now)
        let plan = try await tx.query(
            """
            UPDATE plans SET status = 'booked', updated_at = $3 WHERE organization_id = $1 AND plan_id = $2
            RETURNING patient_id, accepted_at
            """, t.organizationID, t.planID, now)
        let patientID = try plan[0].decode(0, as: String.self)
        let acceptedAt = try plan[0].decode(1, as: Date.self)

        let requestID = UUID().uuidString.lowercased()
        _ = try await tx.execute(
            """
            INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
            VALUES ($1, $2, $3, 'booked', 'planrouter/booking', $4, $5, $5, $6)
            """,
            t.organizationID, t.planID, offer.locationID, requestID, now,
            PostgresJSON(
                JSONValue.object([
                    "offer_id": .int(offer.offerID), "reservation_id": .int(opening.reservationID), "via": "link",
                    "seconds_from_acceptance": .int(Int64(now.timeIntervalSince(acceptedAt).rounded())),
                ]).serialized()))

        let codes = try await tx.query(
            "SELECT code FROM plan_procedures WHERE organization_id = $1 AND plan_id = $2 ORDER BY line", t.organizationID, t.planID
        ).map { JSONValue.string(try $0.decode(0, as: String.self)) }
        var data: JSONObject = [
            "request_id": .string(requestID), "organization_id": .string(t.organizationID), "location_id": .string(offer.locationID),
            "plan_id": .string(t.planID), "patient_id": .string(patientID), "provider_id": .string(opening.providerID),
        ]
        if let op = opening.operatoryID { data["operatory_id"] = .string(op) }
        data["start"] = .string(RFC3339.format(Date(timeIntervalSince1970: Double(opening.start)), in: offer.timeZone))
        data["end"] = .string(RFC3339.format(Date(timeIntervalSince1970: Double(opening.end)), in: offer.timeZone))
        data["procedure_codes"] = .array(codes)
        data["booked_via"] = "link"
        data["booked_at"] = .string(RFC3339.format(now))
        let problems = EventValidator.shared.validateData(.object(data), as: .appointmentRequests)
        guard problems.isEmpty else {
            // The problems name fields, not values; the transaction rolls back and nothing is booked.
            throw BookingInternalError(description: "appointment request fails its schema (\(problems.count) problems)")
        }
        var outbox = OutboxBatch()
        outbox.append(
            CloudEvent(id: requestID, source: "planrouter/booking", type: .appointmentRequests, time: now, subject: t.planID, data: .object(data)),
            topic: configuration.topics[.appointmentRequests])
        try await outbox.insert(on: tx, now: now)
        var booked = offer
        booked.openings = [opening]
        return .booked(BookingConfirmation(offer: booked, opening: opening, requestID: requestID))
    }

    // MARK: Coordinator tasks

    public struct TaskFilter: Sendable {
        public var locationID: String?
        public var ownerID: String?
        public var status: String
        public init(locationID: String? = nil, ownerID: String? = nil, status: String = "open") {
            self.locationID = locationID
            self.ownerID = ownerID
            self.status = status
        }
        public static let statuses: Set<String> = ["open", "resolved", "cancelled"]
    }

    static let taskColumns = """
        id, organization_id, plan_id, location_id, owner_id, kind, urgent, reason, status, outcome, note, created_at, resolved_at, context
        """

    /// Tasks matching the filter, oldest first.
    public func tasks(_ filter: TaskFilter) async throws -> [JSONValue] {
        try await pool.withConnection { conn in
            try await conn.query(
                """
                SELECT \(Self.taskColumns) FROM coordinator_tasks
                WHERE status = $1 AND ($2::text IS NULL OR location_id = $2) AND ($3::text IS NULL OR owner_id = $3)
                ORDER BY created_at, id LIMIT $4
                """,
                binds: [filter.status, filter.locationID, filter.ownerID, Int64(configuration.maximumTasks)]
            ).map(Self.taskJSON)
        }
    }

    static func taskJSON(_ r: PostgresRow) throws -> JSONValue {
        var o: JSONObject = [
            "id": .int(try r.decode(0, as: Int64.self)), "organization_id": .string(try r.decode(1, as: String.self)),
            "plan_id": .string(try r.decode(2, as: String.self)), "location_id": .string(try r.decode(3, as: String.self)),
            "owner_id": .string(try r.decode(4, as: String.self)), "kind": .string(try r.decode(5, as: String.self)),
            "urgent": .bool(try r.decode(6, as: Bool.self)), "reason": .string(try r.decode(7, as: String.self)),
            "status": .string(try r.decode(8, as: String.self)),
        ]
        o["outcome"] = try r.decode(9, as: String?.self).map(JSONValue.string) ?? .null
        o["note"] = try r.decode(10, as: String?.self).map(JSONValue.string) ?? .null
        o["created_at"] = .string(RFC3339.format(try r.decode(11, as: Date.self)))
        o["resolved_at"] = try r.decode(12, as: Date?.self).map { .string(RFC3339.format($0)) } ?? .null
        o["context"] = (try? JSONParser.parse(try r.decode(13, as: PostgresJSON.self).text)) ?? .object([:])
        return .object(o)
    }

    /// Resolves an open task; declined and booked-by-phone close the case.
    public func resolveTask(id: Int64, outcome: TaskOutcome, note: String?) async throws -> ResolveResult {
        let now = try await clock.now()
        let result = try await pool.withTransaction { tx -> ResolveResult in
            let found = try await tx.query("SELECT organization_id, plan_id, location_id FROM coordinator_tasks WHERE id = $1", id)
            guard let f = found.first else { return .notFound }
            let org = try f.decode(0, as: String.self), planID = try f.decode(1, as: String.self), loc = try f.decode(2, as: String.self)
            // Plan first, then the task: the same order as a booking.
            let plan = try await tx.query(
                "SELECT accepted_at FROM plans WHERE organization_id = $1 AND plan_id = $2 FOR UPDATE", org, planID)
            let status = try await tx.query("SELECT status FROM coordinator_tasks WHERE id = $1 FOR UPDATE", id)
            guard try status.first?.decode(0, as: String.self) == "open" else { return .notOpen }
            let updated = try await tx.query(
                """
                UPDATE coordinator_tasks SET status = 'resolved', outcome = $2, note = $3, resolved_at = $4 WHERE id = $1
                RETURNING \(Self.taskColumns)
                """, binds: [id, outcome.rawValue, note, now])

            var kind = "task_resolved"
            var detail: JSONObject = ["task_id": .int(id), "outcome": .string(outcome.rawValue)]
            let closesCase: String? = switch outcome {
            case .declined: "declined"
            case .bookedByPhone: "booked"
            case .unreachable, .other: nil
            }
            if let newStatus = closesCase {
                kind = newStatus
                if outcome == .bookedByPhone {
                    detail["via"] = "phone"
                    if let accepted = try plan.first?.decode(0, as: Date.self) {
                        detail["seconds_from_acceptance"] = .int(Int64(now.timeIntervalSince(accepted).rounded()))
                    }
                }
                _ = try await tx.execute(
                    "UPDATE plans SET status = $3, updated_at = $4 WHERE organization_id = $1 AND plan_id = $2", org, planID, newStatus, now)
                try await CaseWithdrawal.withdraw(
                    organizations: [org], plans: [planID], holdReason: outcome.rawValue, taskOutcome: newStatus, exceptTask: id, now: now, in: tx)
            }
            _ = try await tx.execute(
                """
                INSERT INTO plan_events (organization_id, plan_id, location_id, kind, source, event_id, occurred_at, recorded_at, detail)
                VALUES ($1, $2, $3, $4, 'planrouter/coordinator', $5, $6, $6, $7)
                """, org, planID, loc, kind, "task-\(id)-resolved", now, PostgresJSON(JSONValue.object(detail).serialized()))
            return .resolved(try Self.taskJSON(updated[0]))
        }
        if case .resolved = result { metrics.resolved(outcome) }
        return result
    }

    // MARK: Health

    /// Whether the database answers `SELECT 1` within `timeout`.
    public func databaseAnswers(timeout: Duration = .seconds(2)) async -> Bool {
        await withDeadline(timeout) { [pool] in try await pool.withConnection { try await $0.query("SELECT 1").count == 1 } } ?? false
    }
}
