import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension OfferPlanner {
    /// Writes offers, tasks, timers, case status and history for the batch, and the outgoing events.
    /// `reservedIDs`: ids for the offers (`OffersRepository.reserveIDsLater`), at least one per plan.
    func record(
        _ plans: [Plan], offerIDs reservedIDs: [Int64], infos: [LocationKey: LocationInfo], in tx: PostgresConnection,
        outbox: inout OutboxBatch, now: Date
    ) async throws {
        let nowEpoch = Int64(now.timeIntervalSince1970)
        // When each case's first contact is released to delivery: a self-book message written in the
        // location's quiet hours waits for their end (its send_after); everything else goes now.
        let releasedAt: [PlanKey: Date] = Dictionary(
            plans.map { p in (p.c.key, effectivePath(p) == .selfBook ? sendAfter(p, infos, now: now) ?? now : now) },
            uniquingKeysWith: { a, _ in a })
        // 1. Offers: one row per case, also for callbacks and "no availability" (their first contact is the task).
        //    The SLA is measured to the release, not to the writing. Queued: the ids were reserved.
        let offerIDs = Dictionary(zip(plans.map(\.c.key), reservedIDs), uniquingKeysWith: { a, _ in a })
        try await OffersRepository.insertInitialLater(
            plans.map {
                NewOfferRow(
                    key: $0.c.key, locationID: $0.c.locationID, path: effectivePath($0).rawValue, channel: channelName($0),
                    openings: openingsJSON($0, infos), depositCents: $0.held.isEmpty ? 0 : $0.c.depositCents,
                    linkExpiresAt: now.addingTimeInterval(Double($0.tier.holdWindowSeconds)), planAcceptedAt: $0.c.acceptedAt,
                    slaSeconds: Int32($0.c.slaSeconds), releasedAt: releasedAt[$0.c.key]!)
            }, ids: reservedIDs, now: now, on: tx)

        // 2. Patient messages, deposit requests and the tasks to create.
        var tasks: [(plan: Plan, kind: TaskKind, urgent: Bool, reason: String)] = []
        for p in plans {
            let info = infos[p.c.location]
            let offerID = offerIDs[p.c.key]!
            let expires = nowEpoch + Int64(p.tier.holdWindowSeconds)
            let link = settings.link(
                BookingToken(offerID: offerID, organizationID: p.c.organizationID, planID: p.c.planID, expiresAt: expires))
            switch effectivePath(p) {
            case .callback:
                if let since = p.calendarStaleSince {
                    tasks.append((p, .callback, p.c.path == .sameVisit, staleReason(p, since: since)))
                } else if p.held.isEmpty && p.path != .callback {
                    tasks.append((p, .noAvailability, true, noAvailabilityReason(p)))
                } else {
                    tasks.append(
                        (
                            p, .callback, false,
                            p.c.reasons.first { $0.hasPrefix("path callback") } ?? "path callback: no channel with consent"
                        ))
                }
            case .sameVisit:
                tasks.append((p, .sameVisit, true, "patient still in the office: book one of today's openings before they leave"))
                if let ch = p.c.channel {
                    let m = message(p, info, channel: ch, kind: .sameVisit, link: link, sendAfter: nil, offerID: offerID, now: now)
                    outbox.append(m, topic: topics[.patientMessages])
                }
            case .selfBook:
                let ch = p.c.channel!
                let released = releasedAt[p.c.key]!
                let sendAfter = released > now ? released : nil
                let m = message(p, info, channel: ch, kind: .offer, link: link, sendAfter: sendAfter, offerID: offerID, now: now)
                outbox.append(m, topic: topics[.patientMessages])
            }
        }
        try await insertTasks(tasks, infos: infos, offerIDs: offerIDs, in: tx, outbox: &outbox, now: now)

        // 3. The escalation ladder for cases that reached the patient; measured from acceptance.
        var ladder: [LadderTimerRow] = []
        for p in plans where effectivePath(p) != .callback {
            for (i, step) in p.tier.ladder.enumerated() {
                ladder.append(
                    LadderTimerRow(
                        key: p.c.key, locationID: p.c.locationID, step: Int32(i + 1),
                        dueAt: max(now, p.c.acceptedAt.addingTimeInterval(Double(step.afterSeconds))),
                        payload: .object(["action": .string(step.action.rawValue), "tier": .string(p.tier.name)])))
            }
        }
        try await TimersRepository.scheduleLadder(ladder, now: now, on: tx)

        // 4. Case status and history.
        // Only cases still `accepted` move on (loaded as such in this transaction).
        let status: (Plan) -> CaseStatus = { self.effectivePath($0) == .callback ? .escalated : .offered }
        try await PlansRepository.transitionLater(plans.map { ($0.c.key, status($0)) }, from: [.accepted], now: now, on: tx)
        try await PlanEventsRepository.append(
            plans.map { p in
                let released = releasedAt[p.c.key]!
                let seconds = Int64(released.timeIntervalSince(p.c.acceptedAt).rounded())
                var d: JSONObject = [
                    "offer_id": .int(offerIDs[p.c.key]!), "path": .string(effectivePath(p).rawValue), "channel": .string(channelName(p)),
                    "openings": .int(Int64(p.held.count)), "seconds_to_offer": .int(seconds),
                    "sla_met": .bool(seconds <= Int64(p.c.slaSeconds)), "tier": .string(p.tier.name),
                ]
                if released > now { d["released_at"] = .string(RFC3339.format(released)) }
                if let role = p.c.providerRole { d["provider_role"] = .string(role) }
                if let match = p.providerMatch, !p.held.isEmpty {
                    d["provider_match"] = .string(providerMatchName(match))
                    d["provider_reason"] = .string(providerReason(p, match))
                }
                if let note = p.note { d["note"] = .string(note) }
                return PlanEventRow(
                    organizationID: p.c.organizationID, planID: p.c.planID, locationID: p.c.locationID, kind: status(p).rawValue,
                    source: p.c.incoming?.event.source, eventID: p.c.incoming?.event.id, occurredAt: now, detail: .object(d))
            }, recordedAt: now, on: tx)
    }

    /// Nudges and re-offers: a new offer (kind nudge or reoffer) with the held openings and a
    /// fresh link; no new timers (the ladder goes on). A nudge with no opening to offer gets
    /// no message; its ladder ends with the coordinator task. A re-offer with nothing to offer
    /// (or no channel left) goes to a coordinator now, and so does any case of a location whose
    /// calendar is stale.
    func recordNudges(
        _ plans: [Plan], kind: OfferKind, infos: [LocationKey: LocationInfo], in tx: PostgresConnection, outbox: inout OutboxBatch,
        now: Date
    ) async throws {
        let reached = plans.filter { !$0.held.isEmpty && $0.c.channel != nil && $0.calendarStaleSince == nil }
        if !reached.isEmpty {
            let offerIDs = try await OffersRepository.insertNudges(
                reached.map {
                    NewOfferRow(
                        key: $0.c.key, locationID: $0.c.locationID, path: CasePath.selfBook.rawValue, channel: $0.c.channel!.name,
                        openings: openingsJSON($0, infos), depositCents: $0.c.depositCents,
                        linkExpiresAt: now.addingTimeInterval(Double($0.tier.holdWindowSeconds)), planAcceptedAt: $0.c.acceptedAt,
                        slaSeconds: 0)
                }, kind: kind == .nudge ? "nudge" : "reoffer", now: now, on: tx)
            // The openings offered again stay held as long as the new link is valid.
            try await ReservationsRepository.extendHolds(
                reached.flatMap { p in p.held.map(\.reservationID) },
                until: reached.flatMap { p in p.held.map { _ in now.addingTimeInterval(Double(p.tier.holdWindowSeconds)) } }, on: tx)
            for p in reached {
                let (offerID, expires) = offerIDs[p.c.key]!
                let link = settings.link(
                    BookingToken(
                        offerID: offerID, organizationID: p.c.organizationID, planID: p.c.planID,
                        expiresAt: Int64(expires.timeIntervalSince1970)))
                let messageKind: MessageKind = kind == .nudge ? .nudge : .openingWithdrawn
                let m = message(
                    p, infos[p.c.location], channel: p.c.channel!, kind: messageKind, link: link, sendAfter: nil, now: now,
                    refused: kind == .refusal)
                outbox.append(m, topic: topics[.patientMessages])
            }
        }
        let reachedKeys = Set(reached.map(\.c.key))
        try await PlanEventsRepository.append(
            plans.map {
                let without = "\(Self.historyName(kind))_without_openings"
                let name =
                    reachedKeys.contains($0.c.key)
                    ? (kind == .nudge ? "nudged" : kind == .reoffer ? "reoffered" : "reoffered_after_refusal")
                    : $0.calendarStaleSince != nil ? "calendar_stale" : without
                return PlanEventRow(
                    organizationID: $0.c.organizationID, planID: $0.c.planID, locationID: $0.c.locationID, kind: name, occurredAt: now,
                    detail: .object(["openings": .int(Int64($0.held.count))]))
            }, recordedAt: now, on: tx)
        // Nobody is left waiting: stale calendars and re-offers with nothing to offer go to a coordinator now.
        var byLocation: [LocationKey: [Plan]] = [:]
        for p in plans where p.calendarStaleSince != nil { byLocation[p.c.location, default: []].append(p) }
        for (_, group) in byLocation.sorted(by: { $0.key < $1.key }) {
            try await CaseHandOver.toCoordinator(
                group.map(\.c.key), kind: .callback, reason: staleReason(group[0], since: group[0].calendarStaleSince!),
                source: "planrouter/offer", topics: topics, outbox: &outbox, now: now, on: tx)
        }
        if kind == .reoffer {
            let unreached = plans.filter { $0.calendarStaleSince == nil && !reachedKeys.contains($0.c.key) }
            try await CaseHandOver.toCoordinator(
                unreached.map(\.c.key), kind: .noAvailability, reason: Self.withdrawnReason, urgent: true, source: "planrouter/offer",
                topics: topics, outbox: &outbox, now: now, on: tx)
        }
    }

    /// The history's name of a nudge or re-offer.
    static func historyName(_ kind: OfferKind) -> String {
        switch kind {
        case .nudge: "nudge"
        case .refusal: "refusal_reoffer"
        case .reoffer, .initial: "reoffer"
        }
    }

    static let withdrawnReason =
        "the openings offered are no longer available (the PMS schedule or an appointment changed) "
        + "and no other opening could be offered by link"

    /// The reason of a "calendar stale" task; names the location and when its schedule was last refreshed.
    func staleReason(_ p: Plan, since: Date) -> String {
        let hours = Int(settings.calendarStaleAfter.components.seconds / 3600)
        return "calendar stale: the schedule of \(p.c.locationID) was last refreshed \(RFC3339.format(since)) (over \(hours) h ago); "
            + "book by phone and check the PMS connector"
    }

    /// Self-book without any winnable opening (or without a channel) ends with a coordinator.
    func effectivePath(_ p: Plan) -> CasePath {
        if p.path == .callback || p.held.isEmpty { return .callback }
        if p.path == .selfBook && p.c.channel == nil { return .callback }
        return p.path
    }

    func channelName(_ p: Plan) -> String {
        switch effectivePath(p) {
        case .callback: "coordinator"
        case .sameVisit: "front_desk"
        case .selfBook: p.c.channel!.name
        }
    }

    func noAvailabilityReason(_ p: Plan) -> String {
        let who: String
        if let role = p.c.providerRole {
            let fallback = p.c.roleFallback(p.rules, p.tier).roles.filter { $0 != role }
            who = "any \(role)" + (fallback.isEmpty ? "" : " or (fallback) \(fallback.joined(separator: ", "))")
        } else {
            who = "provider \(p.c.providerID)"
        }
        return "no opening of \(p.c.chairMinutes) min with \(who) in the next \(p.rules.offer.horizonDays) days"
    }

    func providerMatchName(_ m: SlotSearch.ProviderMatch) -> String {
        switch m {
        case .preferredProvider: "treating_provider"
        case .requiredRole: "required_role"
        case .fallbackRole: "role_fallback"
        }
    }

    /// One line for the offer's history: whose openings were offered and why.
    func providerReason(_ p: Plan, _ m: SlotSearch.ProviderMatch) -> String {
        switch m {
        case .preferredProvider(let id):
            return "treating provider \(id)" + (p.c.providerRole.map { " (has the required role \($0))" } ?? "")
        case .requiredRole(let role):
            return role.map { "any \($0): the treating provider \(p.c.providerID) has no \($0) opening or lacks the role" }
                ?? "treating provider \(p.c.providerID)"
        case .fallbackRole(let role):
            return "no \(p.c.providerRole ?? "provider") opening in the next \(p.rules.offer.horizonDays) days; "
                + "offered \(role) openings (\(p.c.roleFallback(p.rules, p.tier).rule.map { "visit rule \($0)" } ?? "tier \(p.tier.name)") role_fallback)"
        }
    }

    /// The held openings as the offer row stores them (with reservation ids).
    func openingsJSON(_ p: Plan, _ infos: [LocationKey: LocationInfo]) -> JSONValue {
        let zone = infos[p.c.location]?.timeZone ?? TimeZone(identifier: "UTC")!
        return .array(
            p.held.map { h in
                var o: JSONObject = [
                    "reservation_id": .int(h.reservationID), "provider_id": .string(h.opening.providerID),
                    "start": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.opening.range.start)), in: zone)),
                    "end": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.opening.range.end)), in: zone)),
                    "local_time": .string(LocalTime.format(h.opening.range.start, in: zone)),
                ]
                if let op = h.opening.operatoryID { o["operatory_id"] = .string(op) }
                return .object(o)
            })
    }

    /// The patient message: opening times with the location's zone (MST/MDT, CET/CEST, or the offset).
    func message(
        _ p: Plan, _ info: LocationInfo?, channel: (name: String, to: String), kind: MessageKind, link: String, sendAfter: Date?,
        offerID: Int64? = nil, now: Date, refused: Bool = false
    ) -> CloudEvent {
        let zone = info?.timeZone ?? TimeZone(identifier: "UTC")!
        let t = p.rules.messages
        let values = [
            "first_name": p.c.firstName, "location_name": info.flatMap { $0.name.isEmpty ? nil : $0.name } ?? "your dental office",
            "openings": p.held.map { LocalTime.formatWithZone($0.opening.range.start, in: zone) }.joined(separator: ", "), "link": link,
            "deposit": MessageTemplates.dollars(p.c.depositCents),
        ]
        let channelKind = MessageChannel(rawValue: channel.name) ?? .sms
        let template =
            kind == .openingWithdrawn
            ? (refused
                ? (channelKind == .email ? Self.refusedEmail : Self.refusedSMS)
                : (channelKind == .email ? Self.withdrawnEmail : Self.withdrawnSMS))
            : kind == .sameVisit
                ? t.sameVisitSMS : kind == .nudge && channelKind == .sms ? t.nudgeSMS : (channelKind == .email ? t.offerEmail : t.offerSMS)
        var body = MessageTemplates.render(template, values)
        if p.c.depositCents > 0 { body += MessageTemplates.render(t.depositLine, values) }
        let m = PatientMessage(
            messageID: UUID().uuidString.lowercased(), organizationID: p.c.organizationID, locationID: p.c.locationID, planID: p.c.planID,
            patientID: p.c.patientID, channel: channelKind, to: channel.to, kind: kind,
            subject: channelKind == .email ? MessageTemplates.render(t.offerEmailSubject, values) : nil, body: String(body.prefix(1600)),
            link: link,
            openings: p.held.map { h in
                PatientMessage.Opening(
                    start: OffsetDateTime(Date(timeIntervalSince1970: Double(h.opening.range.start)), in: zone),
                    end: OffsetDateTime(Date(timeIntervalSince1970: Double(h.opening.range.end)), in: zone),
                    providerID: h.opening.providerID, operatoryID: h.opening.operatoryID,
                    localTime: LocalTime.format(h.opening.range.start, in: zone))
            },
            sendAfter: sendAfter, offerID: offerID)
        return CloudEvent(id: m.messageID, source: "planrouter/offer", time: now, subject: p.c.planID, data: m)
    }

    /// The re-offer's text (`opening_withdrawn`): says plainly that the earlier time is gone.
    static let withdrawnSMS =
        "Hi {first_name}, {location_name} here. The time we offered you earlier is no longer available. "
        + "New openings: {openings}. Book here: {link}"
    static let withdrawnEmail =
        "Hi {first_name},\n\nThe time {location_name} offered you earlier is no longer available. "
        + "We are holding these new openings for you:\n{openings}\n\nBook here: {link}\n"

    /// The text after a write-back refusal (`opening_withdrawn`): the booked time could not be confirmed.
    static let refusedSMS =
        "Hi {first_name}, {location_name} here. We're sorry: the time you booked could not be confirmed in our schedule. "
        + "New openings: {openings}. Book here: {link}"
    static let refusedEmail =
        "Hi {first_name},\n\nWe're sorry: the time you booked with {location_name} could not be confirmed in our schedule. "
        + "We are holding these new openings for you:\n{openings}\n\nBook here: {link}\n"

    /// The end of the location's quiet hours when a message written now falls in them (nil: send now).
    func sendAfter(_ p: Plan, _ infos: [LocationKey: LocationInfo], now: Date) -> Date? {
        infos[p.c.location].flatMap { ($0.quietHours ?? p.rules.quietHours).end(after: now, in: $0.timeZone) }
    }

    func insertTasks(
        _ tasks: [(plan: Plan, kind: TaskKind, urgent: Bool, reason: String)], infos: [LocationKey: LocationInfo],
        offerIDs: [PlanKey: Int64],
        in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date
    ) async throws {
        guard !tasks.isEmpty else { return }
        let owners = tasks.map { t in
            infos[t.plan.c.location]?.owner(tier: t.plan.tier.name, planCoordinator: t.plan.c.coordinatorID)
                ?? CaseOwner.resolve(
                    tier: nil, planCoordinator: t.plan.c.coordinatorID, byTier: [:], locationDefault: nil, locationID: t.plan.c.locationID)
        }
        let contexts: [JSONValue] = tasks.map { t in
            let p = t.plan
            var ctx: JSONObject = [
                "plan_id": .string(p.c.planID), "patient_id": .string(p.c.patientID), "provider_id": .string(p.c.providerID),
                "tier": .string(p.tier.name), "value_cents": .int(p.c.valueCents), "deposit_cents": .int(p.c.depositCents),
                "chair_minutes": .int(Int64(p.c.chairMinutes)), "procedures": .array(p.c.procedureCodes.map { .string($0) }),
                "accepted_at": .string(RFC3339.format(p.c.acceptedAt)),
                "preferred_channel": .string(p.c.patient["preferred_channel"]?.stringValue ?? "none"),
                "sms_consent": .bool(p.c.patient["sms_consent"]?.boolValue ?? false),
                "classification": .array(p.c.reasons.map { .string($0) }),
                "offers": .array([
                    .object([
                        "offer_id": .int(offerIDs[p.c.key]!), "sent_at": .string(RFC3339.format(now)), "channel": .string(channelName(p)),
                    ])
                ]),
                "openings": openingsJSON(p, infos),
            ]
            if let note = p.note { ctx["note"] = .string(note) }
            return .object(ctx)
        }
        let ids = try await TasksRepository.insert(
            tasks.indices.map { i in
                let t = tasks[i]
                return NewTaskRow(
                    key: t.plan.c.key, locationID: t.plan.c.locationID, ownerID: owners[i], kind: t.kind, urgent: t.urgent,
                    reason: t.reason,
                    context: contexts[i])
            }, now: now, on: tx)
        for (i, t) in tasks.enumerated() {
            let id = ids[TasksRepository.TaskID(key: t.plan.c.key, kind: t.kind)]!
            let task = CoordinatorTask(
                taskID: String(id), organizationID: t.plan.c.organizationID, locationID: t.plan.c.locationID, planID: t.plan.c.planID,
                ownerID: owners[i], kind: t.kind, urgent: t.urgent, reason: String(t.reason.prefix(500)), createdAt: now,
                context: contexts[i].objectValue)
            outbox.append(
                CloudEvent(id: "task-\(id)", source: "planrouter/offer", time: now, subject: t.plan.c.planID, data: task),
                topic: topics[.coordinatorTasks])
        }
    }
}
