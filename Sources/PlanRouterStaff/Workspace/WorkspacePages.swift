import Foundation
import Hummingbird
import PlanRouterBooking
import PlanRouterCore
import PlanRouterHTTP

/// The workspace's HTML pages and form posts on the staff surface. Pages need a credential like
/// every staff endpoint; without one a page redirects to the sign-in form (a form post gets the
/// API's 401). Actions carry the session's CSRF token and the task version they were rendered with.
enum WorkspacePages {
    /// A page: `HTTPResponses.html`'s headers, but the referrer policy `same-origin` instead of
    /// `no-referrer` — under `no-referrer` a browser sends `Origin: null` with a form post, which the
    /// staff surface's Origin check refuses. Same-origin still sends nothing to another site.
    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        var response = HTTPResponses.html(status, page)
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        return response
    }

    static func redirect(_ location: String) -> Response {
        var response = Response(status: .seeOther, headers: HTTPResponses.headers("text/plain; charset=utf-8", private: true))
        response.headers[.location] = location
        return response
    }

    /// The caller of a page, or nil (redirect to the sign-in form).
    static func pageCaller(_ request: Request, _ service: StaffService) async throws -> StaffAuthentication? {
        guard let auth = try await StaffRouter.authenticate(request, service), auth.principal.role.allows(.listTasks) else { return nil }
        return auth
    }

    static func frame(_ title: String, _ auth: StaffAuthentication?) -> [String: Any] {
        var c: [String: Any] = ["title": title, "signedIn": auth != nil]
        if case .session(let csrf)? = auth?.credential { c["csrf"] = csrf }
        return c
    }

    static func param(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: Sign-in

    static func signInPage(problem: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var c = frame("Sign in", nil)
        if let problem { c["problem"] = problem }
        return html(status, WorkspaceTemplates.render("signin", c))
    }

    // MARK: Queue

    static let notices: [String: String] = [
        "book": "Booked: the appointment request is on its way to the PMS.", "resolve": "Task resolved.",
        "held": "Held for the patient until the deposit is paid: paying confirms the booking and sends it to the PMS.",
        "attempt": "Attempt recorded.", "snooze": "Task snoozed.", "reassign": "Task reassigned.",
    ]

    static func queue(_ request: Request, _ service: StaffService) async throws -> Response {
        guard let auth = try await pageCaller(request, service) else { return redirect("/signin") }
        let (location, tier, kind) = (param(request, "location"), param(request, "tier"), param(request, "kind"))
        let q = try await service.queue(for: auth.principal, location: location, tier: tier, kind: kind)
        var counts = ["fresh": 0, "aging": 0, "old": 0]
        var urgent = 0
        var snoozed = 0
        let tasks: [[String: Any]] = q.tasks.map { t in
            let hours = WorkspaceFormat.number(t["age_hours"]) ?? 0
            let ageClass = WorkspaceFormat.agingClass(hours: hours)
            counts[ageClass, default: 0] += 1
            if t["urgent"] == true { urgent += 1 }
            var row: [String: Any] = [
                "id": t["id"]?.stringValue ?? "", "age": WorkspaceFormat.age(hours: hours), "ageClass": ageClass,
                "patient": patientName(first: t["first_name"]?.stringValue, last: t["last_name"]?.stringValue),
                "urgent": t["urgent"] == true, "kind": WorkspaceFormat.label(t["kind"]?.stringValue ?? ""),
                "location": t["location_name"]?.stringValue ?? "", "value": WorkspaceFormat.dollars(t["value_cents"]?.int64Value),
                "owner": t["owner_id"]?.stringValue ?? "", "reason": t["reason"]?.stringValue ?? "",
            ]
            if let tier = t["tier"]?.stringValue { row["tier"] = tier }
            if let until = WorkspaceFormat.date(t["snoozed_until"]) {
                snoozed += 1
                row["snoozedUntil"] = WorkspaceFormat.utcTime(until)
            }
            return row
        }
        var c = frame("My queue", auth)
        c["tasks"] = tasks
        c["open"] = tasks.count
        c["urgent"] = urgent
        c["snoozed"] = snoozed
        for (k, v) in counts { c[k] = v }
        c["locations"] = q.locations.map {
            ["id": $0.id, "name": $0.name.isEmpty ? $0.id : $0.name, "selected": $0.id == location] as [String: Any]
        }
        c["tiers"] = q.tiers.map { ["value": $0, "selected": $0 == tier] as [String: Any] }
        c["kinds"] = q.kinds.map { ["value": $0, "label": WorkspaceFormat.label($0), "selected": $0 == kind] as [String: Any] }
        if let done = param(request, "done"), let notice = notices[done] { c["notice"] = notice }
        return html(.ok, WorkspaceTemplates.render("queue", c))
    }

    static func patientName(first: String?, last: String?) -> String {
        let name = [first, last].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        return name.isEmpty ? "(no name on file)" : name
    }

    // MARK: Case page

    static func casePage(_ request: Request, _ context: BasicRequestContext, _ service: StaffService) async throws -> Response {
        guard let auth = try await pageCaller(request, service) else { return redirect("/signin") }
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { return missing(auth) }
        let notice = param(request, "done").flatMap { notices[$0] }
        return try await renderCase(id, auth, service, status: .ok, notice: notice, problem: nil)
    }

    static func missing(_ auth: StaffAuthentication?) -> Response {
        html(.notFound, WorkspaceTemplates.render("missing", frame("Not found", auth)))
    }

    static func renderCase(
        _ id: UUID, _ auth: StaffAuthentication, _ service: StaffService, status: HTTPResponse.Status, notice: String?, problem: String?
    ) async throws -> Response {
        guard let view = try await service.caseView(id, for: auth.principal) else { return missing(auth) }
        let r = view.record
        let zone = TimeZone(identifier: r["location"]?["time_zone"]?.stringValue ?? "UTC") ?? TimeZone(identifier: "UTC")!
        func time(_ v: JSONValue?) -> String { WorkspaceFormat.localTime(WorkspaceFormat.date(v), zone) }
        let task = r["task"] ?? .null
        let plan = r["plan"] ?? .null
        let patient = plan["patient"] ?? .null
        let classification = r["classification"] ?? .null
        let context = task["context"] ?? .null
        var c = frame("Case", auth)
        if let notice { c["notice"] = notice }
        if let problem { c["problem"] = problem }
        let created = WorkspaceFormat.date(task["created_at"]) ?? view.now
        c["taskID"] = id.uuidString.lowercased()
        c["patient"] = patientName(first: patient["first_name"]?.stringValue, last: patient["last_name"]?.stringValue)
        c["planStatus"] = plan["plan_status"]?.stringValue ?? plan["status"]?.stringValue ?? ""
        c["taskStatus"] = task["status"]?.stringValue ?? ""
        c["open"] = task["status"] == "open"
        c["urgent"] = task["urgent"] == true
        c["kind"] = WorkspaceFormat.label(task["kind"]?.stringValue ?? "")
        c["tier"] = classification["tier"]?.stringValue ?? context["tier"]?.stringValue ?? ""
        c["location"] = r["location"]?["name"]?.stringValue ?? ""
        c["timeZone"] = zone.identifier
        c["planID"] = plan["plan_id"]?.stringValue ?? ""
        c["owner"] = task["owner_id"]?.stringValue ?? ""
        c["age"] = WorkspaceFormat.age(hours: view.now.timeIntervalSince(created) / 3600)
        c["version"] = task["version"]?.intValue ?? 0
        if let phone = patient["phone"]?.stringValue { c["phone"] = phone }
        if let email = patient["email"]?.stringValue { c["email"] = email }
        c["smsConsent"] = patient["sms_consent"] == true ? "yes" : "no"
        c["emailConsent"] = patient["email_consent"] == false ? "no" : (patient["email"] != nil ? "yes" : "—")
        if let preferred = patient["preferred_channel"]?.stringValue { c["preferred"] = preferred }
        c["reason"] = task["reason"]?.stringValue ?? ""
        if let why = context["why"]?.stringValue, why != task["reason"]?.stringValue { c["why"] = why }
        c["createdAt"] = time(task["created_at"])
        if let until = WorkspaceFormat.date(task["snoozed_until"]), until > view.now {
            c["snoozedUntil"] = WorkspaceFormat.localTime(until, zone)
        }
        c["reasons"] = (classification["reasons"]?.arrayValue ?? context["classification"]?.arrayValue ?? []).compactMap(\.stringValue)
        c["chairMinutes"] = (classification["chair_minutes"] ?? context["chair_minutes"])?.intValue.map { "\($0) min" } ?? "—"
        let deposit = (classification["deposit_cents"] ?? context["deposit"]?["cents"])?.int64Value
        c["deposit"] = WorkspaceFormat.dollars(deposit ?? 0)
        let depositOffered = (r["offers"]?.arrayValue ?? []).contains { ($0["deposit_cents"]?.int64Value ?? 0) > 0 }
        c["depositStatus"] = (deposit ?? 0) == 0 ? "none due" : depositOffered ? "requested with the offer" : "not yet requested"
        c["procedures"] = (r["procedures"]?.arrayValue ?? []).map { p -> [String: Any] in
            [
                "code": p["code"]?.stringValue ?? "", "description": p["description"]?.stringValue ?? "",
                "tooth": p["tooth"]?.stringValue ?? "",
                "fee": WorkspaceFormat.dollars(p["fee_cents"]?.int64Value),
            ]
        }
        c["total"] = WorkspaceFormat.dollars(plan["total_fee_cents"]?.int64Value)
        c["patientPortion"] = WorkspaceFormat.dollars(plan["patient_portion_cents"]?.int64Value)
        c["openings"] = view.openings.flatMap { offer in
            offer.openings.map { o -> [String: Any] in
                [
                    "offer": offer.offerID, "reservation": o.reservationID, "provider": o.providerID,
                    "start": WorkspaceFormat.localTime(Date(timeIntervalSince1970: Double(o.start)), offer.timeZone),
                ]
            }
        }
        c["attemptOutcomes"] = AttemptChoices.outcomes.map { ["value": $0, "label": WorkspaceFormat.label($0)] }
        c["snoozeDefault"] = WorkspaceFormat.inputLocal(view.now.addingTimeInterval(86_400), zone)
        c["coordinators"] = view.coordinators.map { ["login": $0.login, "name": $0.name] }
        c["offers"] = (r["offers"]?.arrayValue ?? []).map { o -> [String: Any] in
            let outcome =
                WorkspaceFormat.date(o["used_at"]).map { "booked through the link " + WorkspaceFormat.localTime($0, zone) }
                ?? WorkspaceFormat.date(o["link_expires_at"]).map {
                    ($0 < view.now ? "expired " : "link valid until ") + WorkspaceFormat.localTime($0, zone)
                }
                ?? "—"
            return [
                "sentAt": time(o["sent_at"]), "kind": o["kind"]?.stringValue ?? "", "channel": o["channel"]?.stringValue ?? "",
                "openings": o["openings"]?.intValue ?? 0, "sla": o["sla_met"] == true ? "met" : "missed", "outcome": outcome,
            ]
        }
        c["messages"] = (r["messages"]?.arrayValue ?? []).map { m -> [String: Any] in
            [
                "createdAt": time(m["created_at"]), "kind": WorkspaceFormat.label(m["kind"]?.stringValue ?? ""),
                "channel": m["channel"]?.stringValue ?? "", "status": m["status"]?.stringValue ?? "", "sentAt": time(m["sent_at"]),
                "deliveredAt": time(m["delivered_at"]),
            ]
        }
        c["history"] = (r["history"]?.arrayValue ?? []).map { e -> [String: Any] in
            [
                "at": time(e["occurred_at"]), "kind": WorkspaceFormat.label(e["kind"]?.stringValue ?? ""),
                "source": e["source"]?.stringValue ?? "",
            ]
        }
        let attempts = (r["attempts"]?.arrayValue ?? []).map { a -> (Date, [String: Any]) in
            let what =
                "\(a["channel"]?.stringValue ?? "") — \(WorkspaceFormat.label(a["outcome"]?.stringValue ?? ""))"
                + (a["note"]?.stringValue.map { ": " + $0 } ?? "")
            return (WorkspaceFormat.date(a["at"]) ?? .distantPast, ["at": time(a["at"]), "by": a["by"]?.stringValue ?? "", "what": what])
        }
        let actions = (r["audit"]?.arrayValue ?? []).filter { $0["action"] != "record_attempt" }.map { a -> (Date, [String: Any]) in
            let what = WorkspaceFormat.auditPhrase(a["action"]?.stringValue ?? "", detail: a["detail"] ?? .null)
            return (WorkspaceFormat.date(a["at"]) ?? .distantPast, ["at": time(a["at"]), "by": a["by"]?.stringValue ?? "", "what": what])
        }
        c["work"] = (attempts + actions).sorted { $0.0 < $1.0 }.map(\.1)
        c["hasMessages"] = !(r["messages"]?.arrayValue ?? []).isEmpty
        c["hasWork"] = !(attempts.isEmpty && actions.isEmpty)
        return html(status, WorkspaceTemplates.render("case", c))
    }

    // MARK: Actions

    static func action(_ request: Request, _ context: BasicRequestContext, _ service: StaffService) async throws -> Response {
        let a = try await StaffRouter.authorized(request, .resolveTask, service)
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw StaffRefusal.notFound }
        guard let action = context.parameters.get("action").flatMap(WorkspaceAction.init(rawValue:)) else { throw StaffRefusal.notFound }
        var fields: [String: String] = [:]
        for (name, value) in a.body { if let s = value.stringValue { fields[name] = s } }
        guard let version = fields["version"].flatMap(Int.init) else { throw StaffRefusal.badRequest("the form has no task version") }
        let outcome = try await service.perform(
            action, on: id, version: version, form: WorkspaceForm(fields), by: a.principal, requestID: a.requestID)
        switch outcome {
        case .done:
            return redirect(
                action == .book || action == .resolve
                    ? "/workspace?done=\(action.rawValue)" : "/workspace/tasks/\(id.uuidString.lowercased())?done=\(action.rawValue)")
        case .heldForDeposit: return redirect("/workspace/tasks/\(id.uuidString.lowercased())?done=held")
        case .notFound: throw StaffRefusal.notFound
        case .conflict(let message):
            return try await renderCase(id, a.authentication, service, status: .conflict, notice: nil, problem: message)
        case .refused(let message):
            return try await renderCase(id, a.authentication, service, status: .unprocessableContent, notice: nil, problem: message)
        }
    }

    // MARK: Dashboard

    static func dashboard(_ request: Request, _ service: StaffService) async throws -> Response {
        guard let auth = try await pageCaller(request, service) else { return redirect("/signin") }
        var location = param(request, "location")
        if let visible = auth.principal.locations {
            // A caller limited to some locations sees one of them, never the organization's totals.
            if let l = location, !visible.contains(l) { return missing(auth) }
            if location == nil { location = visible.sorted().first }
        }
        let d = try await service.dashboard(for: auth.principal, location: location)
        let rows = d.benchmarks
        let total = rows.first { $0["tier"] == nil || $0["tier"] == .null } ?? .null
        func n(_ key: String) -> Double? { WorkspaceFormat.number(total[key]) }
        var c = frame("Dashboard", auth)
        c["scope"] =
            location.map { l in d.locations.first { $0.id == l }.map { $0.name.isEmpty ? $0.id : $0.name } ?? l } ?? "all locations"
        c["locations"] = d.locations.map {
            ["id": $0.id, "name": $0.name.isEmpty ? $0.id : $0.name, "selected": $0.id == location] as [String: Any]
        }
        c["asOf"] = WorkspaceFormat.utcTime(d.now)
        c["unscheduled"] = WorkspaceFormat.dollars(total["unscheduled_cents"]?.int64Value ?? 0)
        c["unscheduledPercent"] = WorkspaceFormat.percent(n("unscheduled_pct"))
        c["accepted"] = WorkspaceFormat.dollars(total["accepted_cents"]?.int64Value ?? 0)
        c["unscheduledCases"] = total["unscheduled_cases"]?.intValue ?? 0
        c["acceptedCases"] = total["accepted_cases"]?.intValue ?? 0
        let target = SameDayTarget.target(configured: d.sameDayTargetPercent)
        c["sameDay"] = WorkspaceFormat.percent(n("same_day_pct"))
        c["sameDayCases"] = total["same_day_cases"]?.intValue ?? 0
        c["sameDayClass"] = n("same_day_pct").map { $0 >= target.percent ? "ok" : "miss" } ?? ""
        c["target"] = WorkspaceFormat.percent(target.percent)
        c["targetIsDefault"] = target.isDefault
        c["firstOfferP50"] = WorkspaceFormat.duration(n("first_offer_p50_seconds"))
        c["firstOfferP90"] = WorkspaceFormat.duration(n("first_offer_p90_seconds"))
        c["bookingP50"] = WorkspaceFormat.duration(n("booking_p50_seconds"))
        c["bookingP90"] = WorkspaceFormat.duration(n("booking_p90_seconds"))
        c["tiers"] = rows.filter { $0["tier"]?.stringValue != nil }.map { t -> [String: Any] in
            [
                "tier": t["tier"]?.stringValue ?? "", "offers": t["initial_offers"]?.intValue ?? 0,
                "met": t["initial_offers_sla_met"]?.intValue ?? 0,
                "percent": WorkspaceFormat.percent(WorkspaceFormat.number(t["first_offer_sla_pct"])),
            ]
        }
        c["owners"] = d.owners.map {
            [
                "owner": $0.owner, "tasks": $0.tasks, "oldest": WorkspaceFormat.age(hours: $0.oldestHours),
                "ageClass": WorkspaceFormat.agingClass(hours: $0.oldestHours),
            ]
                as [String: Any]
        }
        let chart = AgingChart(d.aging)
        c["bars"] = chart.bars
        c["chartWidth"] = AgingChart.width
        c["chartHeight"] = AgingChart.height
        return html(.ok, WorkspaceTemplates.render("dashboard", c))
    }
}

/// The aging buckets as bar geometry for the dashboard's SVG (the template draws it).
struct AgingChart {
    static let width = 600
    static let height = 180
    static let colours = ["#2e7d32", "#7cb342", "#f9a825", "#ef6c00", "#c62828"]
    var bars: [[String: Any]] = []

    /// `analytics_age_bucket`'s buckets, in order: every one gets its slot, empty ones too.
    static let buckets = ["0-2 days", "3-7 days", "8-14 days", "15-30 days", "over 30 days"]

    init(_ found: [(bucket: String, cases: Int, cents: Int64)]) {
        guard let most = found.map(\.cases).max(), most > 0 else { return }
        let named = Self.buckets.map { name in (bucket: name, cases: found.first { $0.bucket == name }?.cases ?? 0) }
        let buckets = named + found.filter { !Self.buckets.contains($0.bucket) }.map { (bucket: $0.bucket, cases: $0.cases) }
        let slot = Self.width / max(buckets.count, 1)
        let plot = Double(Self.height - 50)
        for (i, b) in buckets.enumerated() {
            let h = b.cases == 0 ? 0 : max(2, Int((Double(b.cases) / Double(most) * plot).rounded()))
            let x = i * slot + slot / 6
            let y = Self.height - 24 - h
            bars.append([
                "x": x, "y": y, "width": slot * 2 / 3, "height": h, "colour": Self.colours[min(i, Self.colours.count - 1)],
                "labelX": x + slot / 3, "valueY": y - 6, "axisY": Self.height - 6, "cases": b.cases, "bucket": b.bucket,
            ])
        }
    }
}
