import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

extension OfferPlanner {
    /// Writes offers, tasks, timers, case status and history for the batch, and the outgoing events.
    func record(_ plans: [Plan], infos: [String: LocationInfo], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date) async throws {
        let nowEpoch = Int64(now.timeIntervalSince1970)
        // 1. Offers: one row per case, also for callbacks and "no availability" (their first contact is the task).
        let offerIDs = try await OffersRepository.insertInitial(
            plans.map {
                NewOfferRow(
                    key: $0.c.key, locationID: $0.c.locationID, path: effectivePath($0).rawValue, channel: channelName($0),
                    openings: openingsJSON($0, infos), depositCents: $0.held.isEmpty ? 0 : $0.c.depositCents,
                    linkExpiresAt: now.addingTimeInterval(Double($0.tier.holdWindowSeconds)), planAcceptedAt: $0.c.acceptedAt,
                    slaSeconds: Int32($0.c.slaSeconds))
            }, now: now, on: tx)

        // 2. Patient messages, deposit requests and the tasks to create.
        var tasks: [(plan: Plan, kind: TaskKind, urgent: Bool, reason: String)] = []
        for p in plans {
            let info = infos[p.c.locationID]
            let offerID = offerIDs[p.c.key]!
            let expires = nowEpoch + Int64(p.tier.holdWindowSeconds)
            let link = settings.link(BookingToken(offerID: offerID, organizationID: p.c.organizationID, planID: p.c.planID, expiresAt: expires))
            switch effectivePath(p) {
            case .callback:
                if let since = p.calendarStaleSince {
                    tasks.append((p, .callback, p.c.path == .sameVisit, staleReason(p, since: since)))
                } else if p.held.isEmpty && p.path != .callback {
                    tasks.append((p, .noAvailability, true, noAvailabilityReason(p)))
                } else {
                    tasks.append((p, .callback, false, p.c.reasons.first { $0.hasPrefix("path callback") } ?? "path callback: no channel with consent"))
                }
            case .sameVisit:
                tasks.append((p, .sameVisit, true, "patient still in the office: book one of today's openings before they leave"))
                if let ch = p.c.channel {
                    outbox.append(message(p, info, channel: ch, kind: "same_visit", link: link, sendAfter: nil, now: now), topic: topics[.patientMessages])
                }
                if p.c.depositCents > 0 { outbox.append(deposit(p, link: link, expires: expires, now: now), topic: topics[.depositRequests]) }
            case .selfBook:
                let ch = p.c.channel!
                let sendAfter = info.flatMap { quietHoursEnd(now, zone: $0.timeZone, quiet: p.rules.quietHours) }
                outbox.append(message(p, info, channel: ch, kind: "offer", link: link, sendAfter: sendAfter, now: now), topic: topics[.patientMessages])
                if p.c.depositCents > 0 { outbox.append(deposit(p, link: link, expires: expires, now: now), topic: topics[.depositRequests]) }
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
        _ = try await PlansRepository.transition(plans.map { ($0.c.key, status($0)) }, from: [.accepted], now: now, on: tx)
        try await PlanEventsRepository.append(
            plans.map { p in
                let seconds = Int64(now.timeIntervalSince(p.c.acceptedAt).rounded())
                var d: JSONObject = [
                    "offer_id": .int(offerIDs[p.c.key]!), "path": .string(effectivePath(p).rawValue), "channel": .string(channelName(p)),
                    "openings": .int(Int64(p.held.count)), "seconds_to_offer": .int(seconds),
                    "sla_met": .bool(seconds <= Int64(p.c.slaSeconds)), "tier": .string(p.tier.name),
                ]
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
        _ plans: [Plan], kind: OfferKind, infos: [String: LocationInfo], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date
    ) async throws {
        let reached = plans.filter { !$0.held.isEmpty && $0.c.channel != nil && $0.calendarStaleSince == nil }
        if !reached.isEmpty {
            let offerIDs = try await OffersRepository.insertNudges(
                reached.map {
                    NewOfferRow(
                        key: $0.c.key, locationID: $0.c.locationID, path: CasePath.selfBook.rawValue, channel: $0.c.channel!.name,
                        openings: openingsJSON($0, infos), depositCents: $0.c.depositCents,
                        linkExpiresAt: now.addingTimeInterval(Double($0.tier.holdWindowSeconds)), planAcceptedAt: $0.c.acceptedAt, slaSeconds: 0)
                }, kind: kind == .reoffer ? "reoffer" : "nudge", now: now, on: tx)
            // The openings offered again stay held as long as the new link is valid.
            try await ReservationsRepository.extendHolds(
                reached.flatMap { p in p.held.map(\.reservationID) },
                until: reached.flatMap { p in p.held.map { _ in now.addingTimeInterval(Double(p.tier.holdWindowSeconds)) } }, on: tx)
            for p in reached {
                let (offerID, expires) = offerIDs[p.c.key]!
                let link = settings.link(
                    BookingToken(offerID: offerID, organizationID: p.c.organizationID, planID: p.c.planID, expiresAt: Int64(expires.timeIntervalSince1970)))
                let messageKind = kind == .reoffer ? MessageKind.openingWithdrawn.rawValue : MessageKind.nudge.rawValue
                outbox.append(
                    message(p, infos[p.c.locationID], channel: p.c.channel!, kind: messageKind, link: link, sendAfter: nil, now: now),
                    topic: topics[.patientMessages])
            }
        }
        let reachedKeys = Set(reached.map(\.c.key))
        try await PlanEventsRepository.append(
            plans.map {
                let without = kind == .reoffer ? "reoffer_without_openings" : "nudge_without_openings"
                let name = reachedKeys.contains($0.c.key)
                    ? (kind == .reoffer ? "reoffered" : "nudged")
                    : $0.calendarStaleSince != nil ? "calendar_stale" : without
                return PlanEventRow(
                    organizationID: $0.c.organizationID, planID: $0.c.planID, locationID: $0.c.locationID, kind: name, occurredAt: now,
                    detail: .object(["openings": .int(Int64($0.held.count))]))
            }, recordedAt: now, on: tx)
        // Nobody is left waiting: stale calendars and re-offers with nothing to offer go to a coordinator now.
        var byLocation: [String: [Plan]] = [:]
        for p in plans where p.calendarStaleSince != nil { byLocation[p.c.locationID, default: []].append(p) }
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
        let who = p.request?.providerID.map { "provider \($0)" } ?? p.c.providerRole.map { "any \($0)" } ?? "any provider"
        return "no opening of \(p.c.chairMinutes) min with \(who) in the next \(p.rules.offer.horizonDays) days"
    }

    func openingsJSON(_ p: Plan, _ infos: [String: LocationInfo]) -> JSONValue {
        let zone = infos[p.c.locationID]?.timeZone ?? TimeZone(identifier: "UTC")!
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

    func message(_ p: Plan, _ info: LocationInfo?, channel: (name: String, to: String), kind: String, link: String, sendAfter: Date?, now: Date) -> CloudEvent {
        let openings = openingsJSON(p, info.map { [p.c.locationID: $0] } ?? [:])
        let times = openings.arrayValue!.compactMap { $0["local_time"]?.stringValue }.joined(separator: ", ")
        let t = p.rules.messages
        let values = [
            "first_name": p.c.firstName, "location_name": info.flatMap { $0.name.isEmpty ? nil : $0.name } ?? "your dental office",
            "openings": times, "link": link, "deposit": MessageTemplates.dollars(p.c.depositCents),
        ]
        let template =
            kind == MessageKind.openingWithdrawn.rawValue
            ? (channel.name == "email" ? Self.withdrawnEmail : Self.withdrawnSMS)
            : kind == "same_visit" ? t.sameVisitSMS
            : kind == "nudge" && channel.name == "sms" ? t.nudgeSMS : (channel.name == "email" ? t.offerEmail : t.offerSMS)
        var body = MessageTemplates.render(template, values)
        if p.c.depositCents > 0 { body += MessageTemplates.render(t.depositLine, values) }
        var d: JSONObject = [
            "message_id": .string(UUID().uuidString.lowercased()), "organization_id": .string(p.c.organizationID),
            "location_id": .string(p.c.locationID), "plan_id": .string(p.c.planID), "patient_id": .string(p.c.patientID),
            "channel": .string(channel.name), "to": .string(channel.to), "kind": .string(kind),
        ]
        if channel.name == "email" { d["subject"] = .string(MessageTemplates.render(t.offerEmailSubject, values)) }
        d["body"] = .string(String(body.prefix(1600)))
        d["link"] = .string(link)
        d["openings"] = .array(openings.arrayValue!.map { o in
            var x = o.objectValue!
            x["reservation_id"] = nil
            return .object(x)
        })
        if let sendAfter { d["send_after"] = .string(RFC3339.format(sendAfter)) }
        return CloudEvent(id: d["message_id"]!.stringValue!, source: "planrouter/offer", type: .patientMessages, time: now, subject: p.c.planID, data: .object(d))
    }

    /// The re-offer's text (`opening_withdrawn`): says plainly that the earlier time is gone.
    static let withdrawnSMS =
        "Hi {first_name}, {location_name} here. The time we offered you earlier is no longer available. "
        + "New openings: {openings}. Book here: {link}"
    static let withdrawnEmail =
        "Hi {first_name},\n\nThe time {location_name} offered you earlier is no longer available. "
        + "We are holding these new openings for you:\n{openings}\n\nBook here: {link}\n"

    func deposit(_ p: Plan, link: String, expires: Int64, now: Date) -> CloudEvent {
        let d: JSONObject = [
            "request_id": .string(UUID().uuidString.lowercased()), "organization_id": .string(p.c.organizationID),
            "location_id": .string(p.c.locationID), "plan_id": .string(p.c.planID), "patient_id": .string(p.c.patientID),
            "amount_cents": .int(p.c.depositCents), "currency": .string(settings.currency), "tier": .string(p.tier.name),
            "reason": .string("deposit for \(p.tier.name) treatment"), "link": .string(link),
            "due_by": .string(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))),
        ]
        return CloudEvent(id: d["request_id"]!.stringValue!, source: "planrouter/offer", type: .depositRequests, time: now, subject: p.c.planID, data: .object(d))
    }

    /// When a patient message due now may go out: nil outside quiet hours, else the local end of quiet hours.
    func quietHoursEnd(_ now: Date, zone: TimeZone, quiet: RoutingRules.QuietHours) -> Date? {
        let epoch = Int64(now.timeIntervalSince1970)
        let offset = Int64(zone.secondsFromGMT(for: now))
        let minute = Int(((epoch + offset) % 86_400 + 86_400) % 86_400 / 60)
        let inQuiet = quiet.startMinute > quiet.endMinute
            ? (minute >= quiet.startMinute || minute < quiet.endMinute) : (minute >= quiet.startMinute && minute < quiet.endMinute)
        guard inQuiet else { return nil }
        // Local midnight of today, then the end minute (tomorrow's when we are before midnight).
        let midnight = SlotSearch.endOfLocalDay(epoch, in: zone)
        let startOfToday = midnight - 86_400 + (Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(midnight - 86_400)))) - offset)
        var end = startOfToday + Int64(quiet.endMinute) * 60
        if end <= epoch { end = midnight + Int64(quiet.endMinute) * 60 }
        return Date(timeIntervalSince1970: Double(end))
    }

    func insertTasks(
        _ tasks: [(plan: Plan, kind: TaskKind, urgent: Bool, reason: String)], infos: [String: LocationInfo], offerIDs: [PlanKey: Int64],
        in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date
    ) async throws {
        guard !tasks.isEmpty else { return }
        let owners = tasks.map { t in t.plan.c.coordinatorID ?? infos[t.plan.c.locationID]?.defaultCoordinatorID ?? "location:\(t.plan.c.locationID)" }
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
                "offers": .array([.object(["offer_id": .int(offerIDs[p.c.key]!), "sent_at": .string(RFC3339.format(now)), "channel": .string(channelName(p))])]),
                "openings": openingsJSON(p, infos),
            ]
            if let note = p.note { ctx["note"] = .string(note) }
            return .object(ctx)
        }
        let ids = try await TasksRepository.insert(
            tasks.indices.map { i in
                let t = tasks[i]
                return NewTaskRow(
                    key: t.plan.c.key, locationID: t.plan.c.locationID, ownerID: owners[i], kind: t.kind, urgent: t.urgent, reason: t.reason,
                    context: contexts[i])
            }, now: now, on: tx)
        for (i, t) in tasks.enumerated() {
            let id = ids[TasksRepository.TaskID(key: t.plan.c.key, kind: t.kind.rawValue)]!
            let d: JSONObject = [
                "task_id": .string(String(id)), "organization_id": .string(t.plan.c.organizationID), "location_id": .string(t.plan.c.locationID),
                "plan_id": .string(t.plan.c.planID), "owner_id": .string(owners[i]), "kind": .string(t.kind.rawValue), "urgent": .bool(t.urgent),
                "reason": .string(String(t.reason.prefix(500))), "created_at": .string(RFC3339.format(now)), "context": contexts[i],
            ]
            outbox.append(
                CloudEvent(id: "task-\(id)", source: "planrouter/offer", type: .coordinatorTasks, time: now, subject: t.plan.c.planID, data: .object(d)),
                topic: topics[.coordinatorTasks])
        }
    }
}
