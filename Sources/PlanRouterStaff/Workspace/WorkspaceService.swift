import Foundation
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// A form post of the case page.
public enum WorkspaceAction: String, Sendable, CaseIterable {
    case book, attempt, snooze, reassign, resolve

    /// What staff_audit records.
    var auditName: String {
        switch self {
        case .book: "book_for_patient"
        case .attempt: "record_attempt"
        case .snooze: "snooze_task"
        case .reassign: "reassign_task"
        case .resolve: "resolve_task"
        }
    }
}

/// What became of a workspace action.
public enum WorkspaceOutcome: Sendable, Equatable {
    case done
    /// A booking of a `deposit_to_confirm` case: the time is held until the deposit is paid (the
    /// payment confirms it and sends it to the PMS); the task stays open.
    case heldForDeposit
    /// No such task, or one the caller may not see.
    case notFound
    /// The task changed since the form was rendered (or is no longer open): who did what.
    case conflict(String)
    /// The form was wrong, or the booking could not be made: what to fix.
    case refused(String)
}

/// The form fields of the case page's actions, as posted.
public struct WorkspaceForm: Sendable {
    public var fields: [String: String]
    public init(_ fields: [String: String]) { self.fields = fields }
    subscript(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }
}

/// The answers of the attempt form.
enum AttemptChoices {
    static let channels = ["call", "text"]
    static let outcomes = ["reached", "voicemail", "no_answer", "wrong_number", "replied"]
}

extension StaffService {
    // MARK: Reads

    public func queue(
        for principal: StaffPrincipal, location: String?, tier: String?, kind: String?
    ) async throws -> (
        tasks: [JSONValue], locations: [(id: String, name: String)], tiers: [String], kinds: [String], now: Date
    ) {
        let now = try await clock.now()
        let visible = principal.locations.map { $0.sorted() }
        let query = WorkspaceRepository.QueueQuery(
            organizationID: principal.organizationID, visibleLocations: visible, locationID: location, tier: tier, kind: kind,
            limit: configuration.maximumTasks)
        return try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx in
            let tasks = try await WorkspaceRepository.queue(query, now: now, on: tx)
            let choices = try await WorkspaceRepository.filterChoices(
                organizationID: principal.organizationID, visibleLocations: visible, on: tx)
            return (tasks, choices.locations, choices.tiers, choices.kinds, now)
        }
    }

    /// The case page's record, the openings a coordinator may book now (those its unused links would
    /// show) and the organization's coordinators; nil for a task the principal may not see.
    public func caseView(
        _ publicID: UUID, for principal: StaffPrincipal
    ) async throws -> (
        record: JSONValue, openings: [OfferView], coordinators: [(login: String, name: String)], now: Date
    )? {
        let now = try await clock.now()
        return try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx in
            guard let (_, key, loc) = try await TasksRepository.find(publicID: publicID, organizationID: principal.organizationID, on: tx),
                principal.sees(organization: key.organizationID, location: loc),
                let record = try await WorkspaceRepository.caseRecord(publicID: publicID, organizationID: principal.organizationID, on: tx)
            else { return nil }
            var openings: [OfferView] = []
            if let booking, record["task"]?["status"] == "open" {
                for offer in try await WorkspaceRepository.unusedOffers(key, on: tx) {
                    let reference = OfferReference(organizationID: key.organizationID, planID: key.planID, offerID: offer)
                    if let view = try await booking.openings(reference, now: now, on: tx), !view.openings.isEmpty { openings.append(view) }
                }
            }
            let coordinators = try await WorkspaceRepository.coordinators(organizationID: principal.organizationID, on: tx)
            return (record, openings, coordinators, now)
        }
    }

    /// The dashboard's figures for the organization or one location, from the analytics functions
    /// `planrouter report` reads.
    public func dashboard(
        for principal: StaffPrincipal, location: String?
    ) async throws -> (
        benchmarks: [JSONValue], aging: [(bucket: String, cases: Int, cents: Int64)],
        owners: [(owner: String, tasks: Int, oldestHours: Double)], locations: [(id: String, name: String)], now: Date,
        sameDayTargetPercent: Double?
    ) {
        let now = try await clock.now()
        let org = principal.organizationID
        return try await pool.withTransaction(scopedTo: .organization(org)) { tx in
            let choices = try await WorkspaceRepository.filterChoices(
                organizationID: org, visibleLocations: principal.locations.map { $0.sorted() }, on: tx)
            return (
                try await WorkspaceRepository.benchmarks(organizationID: org, locationID: location, asOf: now, on: tx),
                try await WorkspaceRepository.aging(organizationID: org, locationID: location, asOf: now, on: tx),
                try await WorkspaceRepository.openTasksByOwner(organizationID: org, locationID: location, asOf: now, on: tx),
                choices.locations, now,
                try await LocationDirectoryRepository.sameDayTarget(organizationID: org, locationID: location, on: tx)
            )
        }
    }

    // MARK: Actions

    /// Performs a case page's action on the task, if its version is still `version`; writes the
    /// audit entry (who, when, what, the case's state before and after) in the same transaction.
    /// A serialization failure or deadlock (a patient booking the same case at that instant) is
    /// retried, as the link's booking is.
    public func perform(
        _ action: WorkspaceAction, on publicID: UUID, version: Int, form: WorkspaceForm, by principal: StaffPrincipal, requestID: String
    ) async throws -> WorkspaceOutcome {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (outcome, booked, resolved) = try await performOnce(
                    action, on: publicID, version: version, form: form, by: principal, requestID: requestID)
                // Counted once committed.
                if booked { booking?.metrics.booked() }
                if let resolved { metrics.resolved(resolved) }
                return outcome
            } catch let e as PostgresError where e.isRetriable && attempt < 3 {
                logger.debug("workspace transaction retried", metadata: ["workspace.attempt": "\(attempt)", "error.code": "\(e.code)"])
            }
        }
    }

    private func performOnce(
        _ action: WorkspaceAction, on publicID: UUID, version: Int, form: WorkspaceForm, by principal: StaffPrincipal, requestID: String
    ) async throws -> (WorkspaceOutcome, booked: Bool, resolved: TaskOutcome?) {
        let now = try await clock.now()
        var booked = false
        var heldForDeposit = false
        var resolvedAs: TaskOutcome?
        let outcome = try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx -> WorkspaceOutcome in
            guard let (id, key, loc) = try await TasksRepository.find(publicID: publicID, organizationID: principal.organizationID, on: tx),
                principal.sees(organization: key.organizationID, location: loc)
            else { return .notFound }
            var offerID: Int64?
            if action == .book {
                guard let offer = form["offer"].flatMap(Int64.init), let _ = form["reservation"].flatMap(Int64.init) else {
                    return .refused("Pick one of the openings listed.")
                }
                // The booking path's lock order: the offer row first, then the plan, then its tasks.
                guard try await OffersRepository.linked(offerID: offer, key, lock: true, on: tx) != nil else {
                    return .refused("That offer does not belong to this case.")
                }
                offerID = offer
            }
            let before = try await PlansRepository.lockedState(key, on: tx)
            guard let current = try await WorkspaceRepository.lockVersion(id, on: tx) else { return .notFound }
            guard current.version == version, current.status == TaskStatus.open.rawValue else {
                return .conflict(try await conflictMessage(publicID, principal, status: current.status, on: tx))
            }
            var detail: JSONObject = ["task_version_before": .int(Int64(current.version))]
            var stateAfter = before?.status
            switch action {
            case .book:
                guard let booking else { return .refused("Booking is not available on this server.") }
                let reservation = form["reservation"].flatMap(Int64.init)!
                let reference = OfferReference(organizationID: key.organizationID, planID: key.planID, offerID: offerID!)
                switch try await booking.book(reference, reservationID: reservation, via: .coordinator, now: now, in: tx) {
                case .booked(let confirmation):
                    detail["offer_id"] = .int(reference.offerID)
                    detail["reservation_id"] = .int(reservation)
                    detail["request_id"] = .string(confirmation.requestID)
                    if let until = confirmation.provisionalUntil {
                        // The tier's deposit_to_confirm policy holds for a coordinator's booking too.
                        detail["provisional_until"] = .string(RFC3339.format(until))
                        heldForDeposit = true
                    } else {
                        booked = true
                        stateAfter = CaseStatus.booked.rawValue
                    }
                case .conflict:
                    return .refused("That opening is no longer available; pick another one.")
                case .notFound:
                    return .refused("That offer can no longer be booked (used, or the case is no longer open).")
                }
            case .attempt:
                guard let channel = form["channel"], AttemptChoices.channels.contains(channel), let result = form["outcome"],
                    AttemptChoices.outcomes.contains(result)
                else { return .refused("Choose how you reached out and how it went.") }
                let note = form["note"]
                guard (note?.count ?? 0) <= 2000 else { return .refused("The note may have at most 2,000 characters.") }
                try await WorkspaceRepository.recordAttempt(
                    taskID: id, key, channel: channel, outcome: result, note: note, actor: principal.actor, now: now, on: tx)
                detail["channel"] = .string(channel)
                detail["outcome"] = .string(result)
            case .snooze:
                guard let text = form["until"],
                    let until = WorkspaceFormat.parseLocal(text, timeZone: try await timeZone(loc, key, on: tx)),
                    until > now, until <= now.addingTimeInterval(30 * 86_400)
                else { return .refused("Snooze until a time within the next 30 days.") }
                try await WorkspaceRepository.snooze(taskID: id, until: until, on: tx)
                detail["until"] = .string(RFC3339.format(until))
            case .reassign:
                guard let login = form["owner"],
                    try await WorkspaceRepository.coordinators(organizationID: principal.organizationID, on: tx).contains(where: {
                        $0.login == login
                    })
                else { return .refused("Choose one of the organization's coordinators.") }
                detail["owner_before"] = .string(try await WorkspaceRepository.owner(taskID: id, on: tx) ?? "")
                detail["owner_after"] = .string(login)
                try await WorkspaceRepository.reassign(taskID: id, ownerID: login, on: tx)
            case .resolve:
                guard let outcome = form["outcome"].flatMap(TaskOutcome.init(rawValue:)) else {
                    return .refused("Choose how the task ended.")
                }
                let note = form["note"]
                guard outcome != .declined || note != nil else { return .refused("Say why the patient declined.") }
                guard (note?.count ?? 0) <= 2000 else { return .refused("The note may have at most 2,000 characters.") }
                // The task API's resolution, audit entry included.
                switch try await resolveTask(publicID, outcome: outcome, note: note, by: principal, requestID: requestID, now: now, in: tx)
                {
                case .resolved:
                    resolvedAs = outcome
                    return .done
                case .notFound: return .notFound
                case .notOpen: return .conflict(try await conflictMessage(publicID, principal, status: "resolved", on: tx))
                }
            }
            try await StaffAuditRepository.append(
                StaffAuditEntry(
                    principal: principal, action: action.auditName, planID: key.planID, taskPublicID: publicID,
                    stateBefore: before?.status, stateAfter: stateAfter, requestID: requestID, detail: .object(detail)),
                now: now, in: tx)
            return heldForDeposit ? .heldForDeposit : .done
        }
        return (outcome, booked, resolvedAs)
    }

    /// Why an action was refused on a changed task: the last staff action on it, or the task's state.
    func conflictMessage(_ publicID: UUID, _ principal: StaffPrincipal, status: String, on tx: PostgresConnection) async throws -> String {
        let state = status == TaskStatus.open.rawValue ? "It is still open" : "It is now \(status)"
        guard let last = try await WorkspaceRepository.lastChange(publicID: publicID, organizationID: principal.organizationID, on: tx)
        else {
            return "This task changed since you opened it (\(state.lowercased()), by the system: a booking through the patient's link "
                + "or the case closing). Nothing was done; check the page and try again."
        }
        let what = WorkspaceFormat.auditPhrase(last.action, detail: last.detail)
        return "\(last.by) \(what) at \(WorkspaceFormat.utcTime(last.at)) while you had this page open. \(state); nothing was done — "
            + "check the page and try again."
    }

    private func timeZone(_ location: String, _ key: PlanKey, on tx: PostgresConnection) async throws -> TimeZone {
        let name = try await WorkspaceRepository.timeZone(organizationID: key.organizationID, locationID: location, on: tx)
        return name.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC")!
    }
}
