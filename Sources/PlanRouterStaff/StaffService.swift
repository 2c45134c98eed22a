import Foundation
import HummingbirdBcrypt
import Logging
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterTelemetry

/// How a request proved who it is.
public enum StaffCredential: Sendable {
    case apiKey
    /// A bearer token of the identity provider (JWT): like a key, it is not sent by a browser on
    /// its own, so it needs no CSRF token.
    case identityToken
    /// A browser session: unsafe requests must also present its CSRF token.
    case session(csrfToken: String)
}

/// An authenticated caller.
public struct StaffAuthentication: Sendable {
    public var principal: StaffPrincipal
    public var credential: StaffCredential
}

/// A session just opened by a sign-in: the cookie's value and its CSRF token.
public struct OpenedSession: Sendable {
    public var secret: StaffSecret
    public var csrfToken: String
    public var expiresAt: Date
}

public enum StaffResolveResult: Sendable {
    case resolved(JSONValue)
    /// No such task, or one the caller may not see: answered alike.
    case notFound
    case notOpen
}

/// The staff surface's work on the database: credentials, the task queue and the audit
/// record. HTTP is in `StaffRouter`; this type knows nothing of it.
public final class StaffService: Sendable {
    let pool: PostgresPool
    let clock: any PlanRouterClock
    public let configuration: StaffConfiguration
    let metrics: BookingMetrics
    let logger: Logger
    /// The patient's booking path, for the workspace's "book for the patient" (nil: that action is
    /// unavailable, e.g. a staff surface built without a booking key).
    let booking: BookingService?
    /// A bcrypt hash of nothing anyone types (at the configured cost), verified against when the
    /// sign-in name is unknown.
    let decoyHash: String

    public init(
        pool: PostgresPool, clock: any PlanRouterClock, configuration: StaffConfiguration, metrics: BookingMetrics, logger: Logger,
        booking: BookingService? = nil
    ) {
        self.booking = booking
        self.pool = pool
        self.clock = clock
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        decoyHash = Bcrypt.hash("planrouter-decoy-\(UUID().uuidString)", cost: configuration.bcryptCost)
    }

    // MARK: Authentication

    /// The principal behind a bearer: an API key (`prk_…`), else a token of the configured
    /// identity provider. A token refused is logged by reason class only (never the token).
    public func authenticate(bearer text: String) async throws -> StaffAuthentication? {
        if StaffSecret(text: text).looks(like: .apiKey) { return try await authenticate(apiKey: text) }
        guard let verifier = configuration.tokenVerifier else { return nil }
        do {
            let principal = try verifier.verify(text, now: try await clock.now())
            return StaffAuthentication(principal: principal, credential: .identityToken)
        } catch {
            logger.info("staff bearer token refused", metadata: ["staff.token_refusal": "\(error)"])
            return nil
        }
    }

    /// The principal behind an API key (`Authorization: Bearer prk_…`).
    public func authenticate(apiKey text: String) async throws -> StaffAuthentication? {
        let secret = StaffSecret(text: text)
        guard secret.looks(like: .apiKey) else { return nil }
        // Authentication is the one cross-organization step of the staff surface: the key names its organization.
        guard
            let p = try await pool.withTransaction(
                scopedTo: .allOrganizations, { try await StaffAccessRepository.principal(keySHA256: secret.sha256, on: $0) })
        else { return nil }
        return StaffAuthentication(principal: p, credential: .apiKey)
    }

    /// The principal behind a session cookie, while the session lasts.
    public func authenticate(sessionCookie text: String) async throws -> StaffAuthentication? {
        let secret = StaffSecret(text: text)
        guard secret.looks(like: .session) else { return nil }
        let now = try await clock.now()
        guard
            let s = try await pool.withTransaction(
                scopedTo: .allOrganizations, { try await StaffAccessRepository.session(secretSHA256: secret.sha256, now: now, on: $0) })
        else { return nil }
        return StaffAuthentication(principal: s.principal, credential: .session(csrfToken: s.csrfToken))
    }

    /// Checks a sign-in; opens a session on success. Unknown names and wrong passwords cost the
    /// same bcrypt work, so timing does not tell which names exist.
    public func signIn(login: String, password: String, requestID: String) async throws -> OpenedSession? {
        let now = try await clock.now()
        let user = try await pool.withTransaction(scopedTo: .allOrganizations) { tx in
            return try await StaffAccessRepository.user(login: login, on: tx)
        }
        let verified = Bcrypt.verify(password, hash: user?.passwordBcrypt ?? decoyHash)
        guard let user, verified else {
            logger.info("staff sign-in refused", metadata: ["http.request_id": "\(requestID)"])
            return nil
        }
        let secret = StaffSecret.generate(.session)
        let csrf = StaffSecret.csrfToken()
        let expires = now.addingTimeInterval(Double(configuration.sessionLifetime.components.seconds))
        let principal = StaffPrincipal(
            kind: .user, id: user.id.uuidString.lowercased(), organizationID: user.organizationID, role: user.role,
            locations: user.locations.map(Set.init))
        try await pool.withTransaction(scopedTo: .organization(user.organizationID)) { tx in
            try await StaffAccessRepository.insertSession(
                secretSHA256: secret.sha256, user: user, csrfToken: csrf, now: now, expiresAt: expires, on: tx)
            try await StaffAuditRepository.append(
                StaffAuditEntry(
                    principal: principal, action: "sign_in", planID: nil, taskPublicID: nil, stateBefore: nil, stateAfter: nil,
                    requestID: requestID), now: now, in: tx)
        }
        return OpenedSession(secret: secret, csrfToken: csrf, expiresAt: expires)
    }

    public func signOut(sessionCookie text: String) async throws {
        let now = try await clock.now()
        try await pool.withTransaction(scopedTo: .allOrganizations) { tx in
            try await StaffAccessRepository.endSession(secretSHA256: StaffSecret(text: text).sha256, now: now, on: tx)
        }
    }

    // MARK: Tasks

    public struct TaskFilter: Sendable {
        public var status: String
        public var locationID: String?
        public var ownerID: String?
        public var planID: String?

        public init(status: String = "open", locationID: String? = nil, ownerID: String? = nil, planID: String? = nil) {
            self.status = status
            self.locationID = locationID
            self.ownerID = ownerID
            self.planID = planID
        }
        public static let statuses: Set<String> = Set(TaskStatus.allCases.map(\.rawValue))
    }

    /// The tasks the principal may see that match the filter, oldest first.
    public func tasks(for principal: StaffPrincipal, _ filter: TaskFilter) async throws -> [JSONValue] {
        let query = TasksRepository.StaffQuery(
            organizationID: principal.organizationID, visibleLocations: principal.locations.map { $0.sorted() }, status: filter.status,
            locationID: filter.locationID, ownerID: filter.ownerID, planID: filter.planID, limit: configuration.maximumTasks)
        // Every staff transaction sees only the principal's organization (row-level security).
        return try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx in
            return try await TasksRepository.list(query, on: tx)
        }
    }

    /// Resolves an open task the principal may see; declined and booked-by-phone close the case.
    /// The audit entry is written in the same transaction.
    public func resolveTask(
        _ publicID: UUID, outcome: TaskOutcome, note: String?, by principal: StaffPrincipal, requestID: String
    ) async throws -> StaffResolveResult {
        let now = try await clock.now()
        let result = try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx -> StaffResolveResult in
            return try await resolveTask(publicID, outcome: outcome, note: note, by: principal, requestID: requestID, now: now, in: tx)
        }
        if case .resolved = result { metrics.resolved(outcome) }
        return result
    }

    /// The resolution in the caller's transaction (the task API and the workspace's resolve form);
    /// the caller counts it once committed.
    func resolveTask(
        _ publicID: UUID, outcome: TaskOutcome, note: String?, by principal: StaffPrincipal, requestID: String, now: Date,
        in tx: PostgresConnection
    ) async throws -> StaffResolveResult {
        guard let (id, key, loc) = try await TasksRepository.find(publicID: publicID, organizationID: principal.organizationID, on: tx),
            principal.sees(organization: key.organizationID, location: loc)
        else { return .notFound }
        // Plan first, then the task: the same order as a booking.
        let before = try await PlansRepository.lockedState(key, on: tx)
        guard try await TasksRepository.lockStatus(id, on: tx) == .open else { return .notOpen }
        let updated = try await TasksRepository.resolve(id, outcome: outcome.rawValue, note: note, now: now, on: tx)

        var kind = "task_resolved"
        var detail: JSONObject = ["task_id": .int(id), "outcome": .string(outcome.rawValue)]
        let closesCase: CaseStatus? =
            switch outcome {
            case .declined: .declined
            case .bookedByPhone: .booked
            case .unreachable, .other: nil
            }
        if let newStatus = closesCase {
            kind = newStatus.rawValue
            if outcome == .bookedByPhone {
                detail["via"] = "phone"
                if let accepted = before?.acceptedAt {
                    detail["seconds_from_acceptance"] = .int(Int64(now.timeIntervalSince(accepted).rounded()))
                }
            }
            // An open task belongs to an open case (closing a case cancels its tasks).
            _ = try await PlansRepository.transitionExpected(key, to: newStatus, now: now, on: tx)
            try await CaseWithdrawal.withdraw(
                [key], holdReason: outcome.rawValue, taskOutcome: newStatus.rawValue, exceptTask: id, now: now, on: tx)
        }
        try await PlanEventsRepository.append(
            [
                PlanEventRow(
                    organizationID: key.organizationID, planID: key.planID, locationID: loc, kind: kind,
                    source: "planrouter/coordinator",
                    eventID: "task-\(id)-resolved", occurredAt: now, detail: .object(detail))
            ], recordedAt: now, on: tx)
        try await StaffAuditRepository.append(
            StaffAuditEntry(
                principal: principal, action: "resolve_task", planID: key.planID, taskPublicID: publicID,
                stateBefore: before?.status, stateAfter: closesCase?.rawValue ?? before?.status, requestID: requestID,
                detail: .object(["outcome": .string(outcome.rawValue), "task_status_before": "open", "task_status_after": "resolved"])),
            now: now, in: tx)
        return .resolved(updated)
    }

    // MARK: Audit

    /// The organization's most recent staff actions.
    public func audit(for principal: StaffPrincipal) async throws -> [JSONValue] {
        try await pool.withTransaction(scopedTo: .organization(principal.organizationID)) { tx in
            return try await StaffAuditRepository.recent(
                organizationID: principal.organizationID, limit: configuration.maximumAuditEntries, on: tx)
        }
    }

    // MARK: Health

    public func databaseAnswers() async -> Bool {
        await withDeadline(.seconds(2)) { [pool] in try await pool.withConnection { try await SchemaRepository.ping(on: $0) } } ?? false
    }
}
