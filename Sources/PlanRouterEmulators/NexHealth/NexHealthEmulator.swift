import AsyncHTTPClient
import Foundation
import NIOCore
import PlanRouterCore
import Synchronization

/// A local stand-in for NexHealth (`planrouter dev-pms nexhealth`), written from NexHealth's
/// public documentation; not NexHealth. One developer account: `POST /authenticates` with the
/// API key gives a bearer token; treatment plans, patients and appointments per subdomain;
/// `GET /appointments` paged by `page`/`per_page`; `POST /appointments` answers 201 at once and
/// writes into the "PMS" later (`processInsertions`), reporting with a signed
/// `appointment_insertion.complete` or `.failed` webhook. Webhooks are signed with the
/// endpoint's secret and retried on failure. Faults on demand (429/5xx).
public final class NexHealthEmulator: Sendable {
    public struct Settings: Sendable {
        public var apiKey: String
        public var webhookSecret: String
        /// Where webhooks go (NexHealth's registered `target_url`); nil: none are sent.
        public var webhookURL: String?
        public var attempts = 5
        public var retryDelay: Duration = .milliseconds(100)
        public init(apiKey: String, webhookSecret: String, webhookURL: String? = nil) {
            self.apiKey = apiKey
            self.webhookSecret = webhookSecret
            self.webhookURL = webhookURL
        }
    }

    public struct Fault: Sendable {
        public var status: Int
        public var retryAfterSeconds: Int?
        public var method: String?
        public var pathPrefix: String?
        public var remaining: Int
        public init(status: Int, retryAfterSeconds: Int? = nil, method: String? = nil, pathPrefix: String? = nil, count: Int = 1) {
            self.status = status
            self.retryAfterSeconds = retryAfterSeconds
            self.method = method
            self.pathPrefix = pathPrefix
            remaining = count
        }
    }

    struct State {
        var nextID: Int64 = 100
        var tokens: Set<String> = []
        var patients: [Int64: JSONValue] = [:]
        var plans: [Int64: JSONValue] = [:]
        var appointments: [Int64: JSONValue] = [:]
        /// Appointments accepted by POST, not yet written into the PMS.
        var pendingInsertions: [Int64] = []
        /// Appointments cancelled by PATCH, not yet reported by webhook.
        var pendingUpdates: [Int64] = []
        /// How many PATCHes cancelled an appointment (a repeated cancellation is not counted).
        var cancellations = 0
        /// Patients whose appointments the PMS refuses (an archived chart).
        var refusing: Set<Int64> = []
        var faults: [Fault] = []
        var webhookURL: String?
        var delivered: [String] = []
        var now = Date()
    }

    let settings: Settings
    let state: Mutex<State>

    public init(settings: Settings) {
        self.settings = settings
        var s = State()
        s.webhookURL = settings.webhookURL
        state = Mutex(s)
    }

    public func setNow(_ d: Date) { state.withLock { $0.now = d } }
    public func setWebhookURL(_ url: String?) { state.withLock { $0.webhookURL = url } }
    public func inject(_ f: Fault) { state.withLock { $0.faults.append(f) } }
    /// How many appointments a PATCH cancelled.
    public var cancellations: Int { state.withLock { $0.cancellations } }
    /// The event names of webhooks the receiver answered 2xx, in order.
    public var delivered: [String] { state.withLock { $0.delivered } }

    func newID() -> Int64 {
        state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
    }

    // MARK: the practice

    @discardableResult
    public func addPatient(firstName: String, lastName: String, cell: String?, email: String?, locationID: Int64) -> Int64 {
        let id = newID()
        var bio = JSONObjectBuilder()
        bio.set("cell_phone_number", cell)
        var p = JSONObjectBuilder()
        p.set("id", id)
        p.set("first_name", firstName)
        p.set("last_name", lastName)
        p.set("email", email)
        p.set("location_ids", .array([.int(locationID)]))
        p.set("bio", bio.value)
        state.withLock { $0.patients[id] = p.value }
        return id
    }

    public func refuseAppointments(forPatient id: Int64) { _ = state.withLock { $0.refusing.insert(id) } }

    public struct Procedure: Sendable {
        public var code: String
        public var name: String
        public var fee: Double
        public init(code: String, name: String, fee: Double) {
            self.code = code
            self.name = name
            self.fee = fee
        }
    }

    /// A treatment plan the patient accepted; the `treatment_plan_updated` webhook carries the
    /// whole plan, or (`thin`) only its id, patient and status.
    @discardableResult
    public func acceptPlan(
        subdomain: String, patientID: Int64, providerID: Int64, locationID: Int64, procedures: [Procedure], thin: Bool = false
    ) async -> Int64 {
        let id = newID()
        let now = state.withLock { $0.now }
        let procs: [JSONValue] = procedures.map { p in
            var b = JSONObjectBuilder()
            b.set("id", newID())
            b.set("location_id", locationID)
            b.set("patient_id", patientID)
            b.set("provider_id", providerID)
            b.set("code", p.code)
            b.set("name", p.name)
            b.set("status", "treatment_planned")
            b.set("fee", .object(["amount": .string(String(format: "%.2f", p.fee)), "currency": "USD"]))
            return b.value
        }
        var plan = JSONObjectBuilder()
        plan.set("id", id)
        plan.set("name", "Treatment Plan")
        plan.set("patient_id", patientID)
        plan.set("status", "accepted")
        plan.set("updated_at", now)
        let summary = plan.value
        plan.set("procedures", .array(procs))
        state.withLock { $0.plans[id] = plan.value }
        await send(event: "treatment_plan_updated", subdomain: subdomain, data: .object(["treatment_plan": thin ? summary : plan.value]))
        return id
    }

    /// An appointment the front desk made in the PMS: `appointment_created`.
    @discardableResult
    public func addAppointment(
        subdomain: String, patientID: Int64, providerID: Int64, operatoryID: Int64?, locationID: Int64, start: Date, minutes: Int
    ) async -> Int64 {
        let id = newID()
        let a = appointment(
            id: id, patientID: patientID, providerID: providerID, operatoryID: operatoryID, locationID: locationID, start: start,
            end: start.addingTimeInterval(Double(minutes * 60)), note: "", foreignID: "\(id)")
        state.withLock { $0.appointments[id] = a }
        await send(event: "appointment_created", subdomain: subdomain, data: .object(["appointments": .array([a])]))
        return id
    }

    func appointment(
        id: Int64, patientID: Int64, providerID: Int64, operatoryID: Int64?, locationID: Int64, start: Date, end: Date, note: String,
        foreignID: String?
    ) -> JSONValue {
        var b = JSONObjectBuilder()
        b.set("id", id)
        b.set("patient_id", patientID)
        b.set("provider_id", providerID)
        b.set("operatory_id", operatoryID)
        b.set("location_id", locationID)
        b.set("start_time", start)
        b.set("end_time", end)
        b.set("note", note)
        b.set("cancelled", false)
        b.set("patient_missed", false)
        b.set("foreign_id", foreignID)
        b.set("updated_at", state.withLock { $0.now })
        return b.value
    }

    /// Appointments in the "PMS" (written), for tests and `/_emulator/appointments`.
    public var writtenAppointments: [JSONValue] {
        state.withLock { s in s.appointments.keys.sorted().compactMap { s.appointments[$0] }.filter { !($0["foreign_id"]?.isNull ?? true) }
        }
    }

    /// Writes every accepted appointment into the PMS: refused for a refusing patient or an
    /// operatory already taken then; each reported by its insertion webhook. Then reports the
    /// appointments cancelled since (`appointment_updated`).
    public func processInsertions(subdomain: String) async {
        await writeInsertions(subdomain: subdomain)
        let updated: [JSONValue] = state.withLock { s in
            defer { s.pendingUpdates = [] }
            return s.pendingUpdates.compactMap { s.appointments[$0] }
        }
        for a in updated { await send(event: "appointment_updated", subdomain: subdomain, data: .object(["appointments": .array([a])])) }
    }

    func writeInsertions(subdomain: String) async {
        let work: [(String, JSONValue)] = state.withLock { s in
            defer { s.pendingInsertions = [] }
            return s.pendingInsertions.compactMap { id in
                guard case .object(var a)? = s.appointments[id] else { return nil }
                let patient = a["patient_id"]?.int64Value ?? 0
                let taken = s.appointments.values.contains { o in
                    o["id"]?.int64Value != id && !(o["foreign_id"]?.isNull ?? true) && o["operatory_id"] == a["operatory_id"]
                        && o["start_time"] == a["start_time"]
                }
                if s.refusing.contains(patient) || taken {
                    s.appointments[id] = nil
                    return ("appointment_insertion.failed", .object(a))
                }
                a["foreign_id"] = .string("pms-\(id)")
                s.appointments[id] = .object(a)
                return ("appointment_insertion.complete", .object(a))
            }
        }
        for (event, a) in work { await send(event: event, subdomain: subdomain, data: .object(["appointment": a])) }
    }

    // MARK: webhooks

    /// A signed POST of `{subdomain, event_name, resource_type, event_time, data}` to the
    /// target URL, retried (with a fresh signature each time) until a 2xx or the attempts run out.
    public func send(event: String, subdomain: String, data: JSONValue) async {
        guard let target = state.withLock({ $0.webhookURL }), let url = URL(string: target) else { return }
        var body = JSONObjectBuilder()
        body.set("subdomain", subdomain)
        body.set("event_name", event)
        body.set("resource_type", event.hasPrefix("treatment_plan") ? "TreatmentPlan" : "Appointment")
        body.set("event_time", state.withLock { $0.now })
        body.set("data", data)
        let bytes = body.value.serializedBytes()
        var delay = settings.retryDelay
        for _ in 0..<settings.attempts {
            let timestamp = String(Int64(state.withLock { $0.now }.timeIntervalSince1970))
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: NexHealthSignature.timestampHeader, value: timestamp)
            request.headers.add(
                name: NexHealthSignature.signatureHeader,
                value: NexHealthSignature.sign(body: bytes, timestamp: timestamp, secret: settings.webhookSecret))
            request.body = .bytes(ByteBuffer(bytes: bytes))
            // AsyncHTTPClient, not URLSession: FoundationNetworking would bring libcurl into every worker.
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)) {
                _ = try? await response.body.collect(upTo: 1 << 20)
                if (200..<300).contains(Int(response.status.code)) {
                    state.withLock { $0.delivered.append(event) }
                    return
                }
            }
            try? await Task.sleep(for: delay)
            delay = delay * 2
        }
    }
}
