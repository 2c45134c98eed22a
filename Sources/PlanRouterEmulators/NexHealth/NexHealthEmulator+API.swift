import Foundation
import PlanRouterCore

extension NexHealthEmulator {
    /// NexHealth answers `{"code": true, "data": …}`, errors `{"code": false, "error": […]}`.
    static func ok(_ status: Int, _ data: JSONValue) -> EmulatorResponse { .json(status, .object(["code": true, "data": data])) }
    static func failure(_ status: Int, _ text: String, headers: [(String, String)] = []) -> EmulatorResponse {
        .json(status, .object(["code": false, "error": .array([.string(text)])]), headers: headers)
    }

    /// One API request: the token check, an injected fault if one matches, then the resource.
    public func handle(method: String, path: String, query: [String: String], authorization: String?, body: [UInt8]) -> EmulatorResponse {
        if method == "POST", path == "/authenticates" {
            guard authorization == settings.apiKey else { return Self.failure(401, "Unauthorized") }
            let token = UUID().uuidString
            state.withLock { _ = $0.tokens.insert(token) }
            return Self.ok(200, .object(["token": .string(token)]))
        }
        guard let auth = authorization, auth.hasPrefix("Bearer "), state.withLock({ $0.tokens.contains(String(auth.dropFirst(7))) })
        else { return Self.failure(401, "Unauthorized") }
        if let f = takeFault(method: method, path: path) {
            return Self.failure(f.status, "injected fault", headers: f.retryAfterSeconds.map { [("Retry-After", String($0))] } ?? [])
        }
        guard query["subdomain"] != nil else { return Self.failure(400, "subdomain is required") }
        let parts = path.split(separator: "/").map(String.init)
        switch (method, parts.first, parts.count) {
        case ("GET", "treatment_plans", 2):
            guard let id = Int64(parts[1]), let p = state.withLock({ $0.plans[id] }) else { return Self.failure(404, "Not found") }
            return Self.ok(200, p)
        case ("GET", "patients", 2):
            guard let id = Int64(parts[1]), let p = state.withLock({ $0.patients[id] }) else { return Self.failure(404, "Not found") }
            return Self.ok(200, p)
        case ("GET", "appointments", 1):
            return listAppointments(query)
        case ("POST", "appointments", 1):
            return insert(query, body: body)
        case ("PATCH", "appointments", 2):
            return patch(Int64(parts[1]), body: body)
        default:
            return Self.failure(404, "Not found")
        }
    }

    func takeFault(method: String, path: String) -> Fault? {
        state.withLock { s in
            guard
                let i = s.faults.firstIndex(where: {
                    ($0.method == nil || $0.method == method) && ($0.pathPrefix.map { path.hasPrefix($0) } ?? true)
                })
            else { return nil }
            let f = s.faults[i]
            s.faults[i].remaining -= 1
            if s.faults[i].remaining <= 0 { s.faults.remove(at: i) }
            return f
        }
    }

    /// `GET /appointments`: by `location_id`, `patient_id`, `start`/`end` (start time within), paged.
    func listAppointments(_ q: [String: String]) -> EmulatorResponse {
        let page = max(1, q["page"].flatMap(Int.init) ?? 1)
        let per = min(300, max(1, q["per_page"].flatMap(Int.init) ?? 5))
        let from = q["start"].flatMap(RFC3339.parse)
        let to = q["end"].flatMap(RFC3339.parse)
        let rows = state.withLock { s in s.appointments.keys.sorted().compactMap { s.appointments[$0] } }.filter { a in
            if let l = q["location_id"].flatMap(Int64.init), a["location_id"]?.int64Value != l { return false }
            if let p = q["patient_id"].flatMap(Int64.init), a["patient_id"]?.int64Value != p { return false }
            let start = a["start_time"]?.stringValue.flatMap(RFC3339.parse)
            if let from, let start, start < from { return false }
            if let to, let start, start > to { return false }
            return true
        }
        return Self.ok(200, .array(Array(rows.dropFirst((page - 1) * per).prefix(per))))
    }

    /// `PATCH /appointments/{id}` with `{"appt": {…}}`: only `cancelled` (to true) is emulated; NexHealth lets
    /// `confirmed`, `cancelled` and `checkin_at` be patched and overwrites other fields at its next sync, so they
    /// are ignored. A cancellation is reported with an `appointment_updated` webhook (`processInsertions`).
    func patch(_ id: Int64?, body: [UInt8]) -> EmulatorResponse {
        guard let appt = (try? JSONParser.parse(body))?["appt"] else { return Self.failure(400, "appt is required") }
        let updated: JSONValue? = state.withLock { s in
            guard let id, case .object(var a)? = s.appointments[id] else { return nil }
            if appt["cancelled"]?.boolValue == true, a["cancelled"]?.boolValue != true {
                a["cancelled"] = .bool(true)
                a["updated_at"] = .string(RFC3339.format(s.now))
                s.appointments[id] = .object(a)
                s.pendingUpdates.append(id)
                s.cancellations += 1
            }
            return .object(a)
        }
        guard let updated else { return Self.failure(404, "Not found") }
        return Self.ok(200, .object(["appt": updated]))
    }

    /// `POST /appointments` with `{"appt": {…}}`: accepted at once (201), written later.
    func insert(_ q: [String: String], body: [UInt8]) -> EmulatorResponse {
        guard let appt = (try? JSONParser.parse(body))?["appt"], let location = q["location_id"].flatMap(Int64.init) else {
            return Self.failure(400, "appt and location_id are required")
        }
        guard let patient = appt["patient_id"]?.int64Value, state.withLock({ $0.patients[patient] }) != nil else {
            return Self.failure(400, "patient_id is invalid")
        }
        guard let provider = appt["provider_id"]?.int64Value, let start = appt["start_time"]?.stringValue.flatMap(RFC3339.parse),
            let end = appt["end_time"]?.stringValue.flatMap(RFC3339.parse), end > start
        else { return Self.failure(400, "provider_id, start_time and end_time are required") }
        guard start > state.withLock({ $0.now }) else { return Self.failure(400, "start_time must be in the future") }
        let id = newID()
        let a = appointment(
            id: id, patientID: patient, providerID: provider, operatoryID: appt["operatory_id"]?.int64Value, locationID: location,
            start: start, end: end, note: appt["note"]?.stringValue ?? "", foreignID: nil)
        state.withLock { s in
            s.appointments[id] = a
            s.pendingInsertions.append(id)
        }
        return Self.ok(201, .object(["appt": a]))
    }
}
