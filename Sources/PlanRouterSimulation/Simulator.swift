import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// Plays a DSO's month through the running cluster: acceptances and PMS events go
/// to Kafka, patients book through the booking service's links, coordinators work
/// their tasks, and the shared simulated clock (`sim_clock`) moves from one moment
/// that matters to the next, waiting each time until the workers are done with it.
/// An actor: `run()` owns the agenda, counters and random generator.
public actor Simulator {
    public struct Settings: Sendable {
        public var start: Date
        public var seed: UInt64
        public var bookingURL: String
        /// The staff surface and an API key of the simulated organization, for coordinators' task resolutions.
        public var staffURL: String = "http://localhost:8081"
        public var staffKey: String = ""
        public var topics = TopicNames()
        /// Consumer-group ids (= inbox consumer names) of the workers, to know when they caught up.
        public var classifierGroup = "planrouter-classifier"
        public var offerGroup = "planrouter-offer"
        public var escalationGroup = "planrouter-escalation"
        /// The emulators where patients receive their texts and emails and pay deposits (Simulator+Messages.swift).
        public var patientChannels: PatientChannels?
        /// How the practices reach PlanRouter; `.openDental` needs `openDental` (the emulator) and a
        /// running `planrouter connector opendental` whose write-back consumes as `writebackGroup`.
        public var pms: PMSMode = .events
        public var openDental: OpenDentalPractice?
        public var writebackGroup = "planrouter-connector-opendental"
        public init(start: Date, seed: UInt64, bookingURL: String) {
            self.start = start
            self.seed = seed
            self.bookingURL = bookingURL
        }
    }

    /// Something a patient, the front desk or a coordinator does at a moment.
    enum Action {
        case book(token: String, planID: String)
        case pmsBooking(planID: String, locationID: String, patientID: String, providerID: String)
        case decline(planID: String, locationID: String)
        case resolveTask(planID: String, kind: String, outcome: String)
        case patient(PatientAction)
        case breakAppointment(locationID: String, aptNum: Int64)
    }

    let model: SimulationModel
    let settings: Settings
    let pool: PostgresPool
    let producer: KafkaProducer
    let consumer: KafkaConsumer
    let logger: Logger
    var rng: SplitMix64
    var agenda: [(at: Date, action: Action)] = []
    var published = (acceptances: 0, presentations: 0, offerInputs: 0, lifecycleInputs: 0)
    var counters: [String: Int] = [:]
    var acceptances: [String: DSO.Acceptance] = [:]
    var patients = PatientMessagingState()
    var practice = PracticeState()
    var visits = VisitState()

    public init(
        model: SimulationModel, settings: Settings, pool: PostgresPool, brokers: String, kafkaProperties: [String: String], logger: Logger
    ) throws {
        self.model = model
        self.settings = settings
        self.pool = pool
        self.logger = logger
        rng = SplitMix64(seed: settings.seed)
        producer = try KafkaProducer(bootstrapServers: brokers, properties: kafkaProperties, logger: logger)
        var props = kafkaProperties
        props["session.timeout.ms"] = props["session.timeout.ms"] ?? "6000"
        consumer = try KafkaConsumer(
            bootstrapServers: brokers, groupID: "planrouter-simulator-\(UUID().uuidString.prefix(8))",
            // Without the emulators (no patient channels) the patients read their messages off Kafka.
            topics: settings.patientChannels == nil
                ? [settings.topics[.patientMessages], settings.topics[.coordinatorTasks]] : [settings.topics[.coordinatorTasks]],
            properties: props, logger: logger)
    }

    func progress(_ s: String) { FileHandle.standardError.write(Data("[simulate] \(s)\n".utf8)) }

    func chance(_ p: Double) -> Bool { Double(rng.next() % 1_000_000) / 1_000_000 < p }
    func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * Double(rng.next() % 1_000_000) / 1_000_000 }
    func exponential(mean: Double) -> Double { -mean * log(max(1e-9, 1 - Double(rng.next() % 1_000_000) / 1_000_000)) }

    /// Runs the month; returns when every acceptance has been through the pipeline and the clock reached the end.
    public func run() async throws -> SimulationOutcome {
        let dso = DSO(model: model, start: settings.start, rng: &rng)
        for a in dso.acceptances { acceptances[a.planID] = a }
        let end = settings.start.addingTimeInterval(Double(model.days) * 86_400)
        try await setClock(settings.start.addingTimeInterval(-3600))
        progress(
            "DSO: \(dso.locations.count) locations, \(dso.appointments.count) existing PMS appointments, \(dso.presentations.count) presented plans, \(dso.acceptances.count) acceptances over \(model.days) days"
        )
        if settings.pms == .openDental {
            try await setUpPractice(dso)
        } else {
            try await publish(dso.schedules, type: .scheduleChanged)
            try await publish(dso.appointments, type: .appointmentChanged)
            published.offerInputs += dso.schedules.count + dso.appointments.count
            published.lifecycleInputs += dso.appointments.count
        }
        try await waitForQuiet(at: settings.start.addingTimeInterval(-3600))
        progress("calendars mirrored")
        // Declines and front-desk bookings are decided up front, per acceptance.
        for a in dso.acceptances {
            if chance(model.declineShare) {
                agenda.append((a.at.addingTimeInterval(uniform(1, 10) * 86_400), .decline(planID: a.planID, locationID: a.locationID)))
            } else if chance(model.frontDeskShare) {
                agenda.append(
                    (
                        a.at.addingTimeInterval(uniform(1, 6) * 86_400),
                        .pmsBooking(planID: a.planID, locationID: a.locationID, patientID: a.patientID, providerID: a.providerID)
                    ))
            }
        }
        var next = 0
        var nextPresented = 0
        var now = settings.start
        // A connector re-syncs schedules regularly; without that the offer worker would find the
        // calendars stale after --calendar-stale-hours (24 h) and send every case to a coordinator.
        var nextScheduleRefresh = settings.start.addingTimeInterval(Self.scheduleRefreshInterval)
        var lastReport = ContinuousClock.now
        let started = ContinuousClock.now
        while now < end || next < dso.acceptances.count || nextPresented < dso.presentations.count {
            // The next moment that matters: an acceptance, an action, or a due timer; 6 h at most.
            let timer = try await pool.withConnection {
                try await $0.query("SELECT min(due_at) FROM timers WHERE status = 'pending'")[0].decode(0, as: Date?.self)
            }
            var t = min(now.addingTimeInterval(6 * 3600), end)
            if next < dso.acceptances.count { t = min(t, dso.acceptances[next].at) }
            if nextPresented < dso.presentations.count { t = min(t, dso.presentations[nextPresented].at) }
            if let a = agenda.map(\.at).min() { t = min(t, a) }
            if let timer { t = min(t, timer) }
            if let due = try await nextMessagingMoment(after: now) { t = min(t, due) }
            t = min(t, nextScheduleRefresh)
            // Moments within 5 minutes are one step (the clock stops at the last of them).
            t = max(t, now).addingTimeInterval(0)
            let stepEnd = t.addingTimeInterval(300)
            var batch: [CloudEvent] = []
            while next < dso.acceptances.count, dso.acceptances[next].at <= stepEnd {
                batch.append(dso.acceptances[next].event)
                next += 1
            }
            var shown: [CloudEvent] = []
            while nextPresented < dso.presentations.count, dso.presentations[nextPresented].at <= stepEnd {
                shown.append(dso.presentations[nextPresented].event)
                nextPresented += 1
            }
            now = [batch.last?.time, shown.last?.time].compactMap { $0 }.max().map { max($0, t) } ?? t
            try await setClock(now)
            if settings.pms == .openDental {
                try await presentAndSign(shown, batch)
            } else if !shown.isEmpty {
                try await publish(shown, type: .planPresented)
                published.presentations += shown.count
            }
            if !batch.isEmpty, settings.pms == .events {
                try await publish(batch, type: .planAccepted)
                published.acceptances += batch.count
            }
            if now >= nextScheduleRefresh {
                // With --pms opendental the connector re-reads the schedules itself.
                if settings.pms == .events { try await refreshSchedules(dso.schedules, at: now) }
                while nextScheduleRefresh <= now {
                    nextScheduleRefresh = nextScheduleRefresh.addingTimeInterval(Self.scheduleRefreshInterval)
                }
            }
            try await completeStartedAppointments(now: now)
            try await perform(due: now)
            try await waitForQuiet(at: now)
            try await observe(now: now)
            if ContinuousClock.now - lastReport > .seconds(2) {
                lastReport = ContinuousClock.now
                let day = Int(now.timeIntervalSince(settings.start) / 86_400) + 1
                progress(
                    "day \(min(day, model.days))/\(model.days): \(published.acceptances) accepted, \(counters["booked_link", default: 0]) booked by link, \(counters["tasks", default: 0]) coordinator tasks"
                )
            }
            if now >= end && next >= dso.acceptances.count && nextPresented >= dso.presentations.count { break }
        }
        progress("simulated \(model.days) days in \(ContinuousClock.now - started)")
        await consumer.close()
        await producer.close()
        var outcome = try await withMessagingFigures(
            SimulationOutcome.load(organization: model.organizationID, from: settings.start, to: end, counters: counters, pool: pool))
        if settings.pms == .openDental {
            let pms = try await practiceOutcome()
            (outcome.presented, outcome.presentedAccepted, outcome.pms) = (pms.presented, pms.signed, pms)
        }
        return outcome
    }

    /// How often the simulated connector publishes the locations' schedules again: twice a day,
    /// well inside the offer worker's default 24 h staleness window.
    static let scheduleRefreshInterval: TimeInterval = 12 * 3600

    /// Publishes the schedules again as of `now` (same blocks, a newer `changed_at`), as a connector's sync would.
    func refreshSchedules(_ schedules: [CloudEvent], at now: Date) async throws {
        let stamp = Int64(now.timeIntervalSince1970)
        let refreshed = schedules.map { e -> CloudEvent in
            var data = e.data.objectValue ?? [:]
            data["changed_at"] = .string(RFC3339.format(now))
            return CloudEvent(
                id: "\(e.id)-sync-\(stamp)", source: e.source, type: .scheduleChanged, time: now, subject: e.subject, data: .object(data))
        }
        try await publish(refreshed, type: .scheduleChanged)
        published.offerInputs += refreshed.count
    }

    func setClock(_ t: Date) async throws {
        // The Stripe emulator's business time first: a session created at `t` must not look expired to it.
        try await movePaymentsClock(to: t)
        // The emulated practices stamp their edits with the simulated time too.
        if settings.pms == .openDental { try await openDental.setClock(t) }
        try await pool.withConnection { conn in
            try await DatabaseClock.set(t, on: conn)
            // Wake escalation workers: timers may have become due.
            _ = try await conn.execute("SELECT pg_notify('planrouter_timers', '')")
        }
    }

    func publish(_ events: [CloudEvent], type: EventType) async throws {
        for chunk in stride(from: 0, to: events.count, by: 2000) {
            let part = events[chunk..<min(chunk + 2000, events.count)]
            let results = await producer.sendBatch(
                part.map {
                    KafkaOutgoingMessage(
                        topic: settings.topics[type], key: $0.locationID.map { Array($0.utf8) }, value: $0.serializedBytes(),
                        headers: [KafkaHeader(key: "content-type", value: Array(CloudEvent.contentType.utf8))])
                })
            for r in results { _ = try r.get() }
        }
    }

    /// Waits until the workers have consumed everything published, the outbox is empty and no timer is overdue.
    func waitForQuiet(at now: Date) async throws {
        if settings.pms == .openDental { try await waitForConnector() }
        let deadline = ContinuousClock.now + .seconds(120)
        let settings = settings
        while ContinuousClock.now < deadline {
            if settings.pms == .openDental, !(try await connectorQuiet()) {
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            let row = try await pool.withConnection { conn in
                try await conn.query(
                    """
                    SELECT (SELECT count(*) FROM inbox WHERE consumer = $1),
                           (SELECT count(*) FROM inbox WHERE consumer = $2),
                           (SELECT count(*) FROM classifications),
                           (SELECT count(*) FROM inbox WHERE consumer = $3),
                           (SELECT count(*) FROM outbox WHERE published_at IS NULL AND failed_at IS NULL),
                           (SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= $4)
                    """, settings.classifierGroup, settings.offerGroup, settings.escalationGroup, now)[0]
            }
            let classifierSeen = try row.decode(0, as: Int.self)
            let offerSeen = try row.decode(1, as: Int.self)
            let classified = try row.decode(2, as: Int.self)
            let lifecycleSeen = try row.decode(3, as: Int.self)
            let pending = try row.decode(4, as: Int.self)
            let overdue = try row.decode(5, as: Int.self)
            if classifierSeen >= published.acceptances + published.presentations, offerSeen >= published.offerInputs + classified,
                lifecycleSeen >= published.lifecycleInputs, pending == 0, overdue == 0, try await messagingQuiet(at: now)
            {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw SimulationError(description: "the cluster did not catch up within 120 s: are all workers running with --clock simulated?")
    }

    /// Reads what the cluster sent: patient messages (from the emulators) and coordinator tasks (from Kafka:
    /// coordinators are staff), and decides how people react.
    func observe(now: Date) async throws {
        // Before reading messages: a follow-up routed in this step may already have sent its offer.
        try await adoptFollowUps()
        try await observeInboxes(now: now)
        while true {
            let messages = try await consumer.poll(maxMessages: 1000, timeout: .milliseconds(20))
            if messages.isEmpty { break }
            for m in messages {
                guard let e = try? EventValidator.shared.decode(m.value) else { continue }
                switch e.type {
                case .coordinatorTasks: if let task = try? e.decode(CoordinatorTask.self) { react(to: task, now: now) }
                case .patientMessages: if let message = try? e.decode(PatientMessage.self) { react(toPublished: message, now: now) }
                default: break
                }
            }
            consumer.markDone(messages)
        }
    }

    func react(to task: CoordinatorTask, now: Date) {
        let plan = task.planID
        guard let a = acceptances[plan] else { return }
        counters["tasks", default: 0] += 1
        if task.kind == .sameVisit { return }  // the front desk works from the patient's message path
        let at = now.addingTimeInterval(uniform(2, 24) * 3600)
        if chance(model.coordinatorBooks) {
            agenda.append((at, .pmsBooking(planID: plan, locationID: a.locationID, patientID: a.patientID, providerID: a.providerID)))
        } else if chance(model.coordinatorDeclined / (1 - model.coordinatorBooks)) {
            agenda.append((at, .resolveTask(planID: plan, kind: task.kind.rawValue, outcome: "declined")))
        } else {
            agenda.append((at, .resolveTask(planID: plan, kind: task.kind.rawValue, outcome: "unreachable")))
        }
    }

    /// Carries out every action due by `now`.
    func perform(due now: Date) async throws {
        let due = agenda.filter { $0.at <= now }
        agenda.removeAll { $0.at <= now }
        var pms: [CloudEvent] = []
        var changes: [CloudEvent] = []
        for (_, action) in due {
            switch action {
            case .book(let token, _):
                let outcome = try await bookThroughLink(token)
                counters[outcome, default: 0] += 1
            case .pmsBooking(let plan, _, _, _) where settings.pms == .openDental:
                try await bookAtFrontDesk(plan: plan, at: now)
            case .decline(let plan, _) where settings.pms == .openDental:
                try await declineInPractice(plan: plan)
            case .breakAppointment(let loc, let apt):
                try await breakInPractice(locationID: loc, aptNum: apt)
            case .pmsBooking(let plan, let loc, let patient, let provider):
                let organization = model.organizationID
                let status = try await pool.withConnection {
                    try await $0.query("SELECT status FROM plans WHERE organization_id = $1 AND plan_id = $2", organization, plan).first?
                        .decode(0, as: String.self)
                }
                guard let status = status.flatMap(CaseStatus.init(rawValue:)), status.isOpen else { continue }
                counters["booked_pms", default: 0] += 1
                let start = now.addingTimeInterval(Double(2 + Int(rng.next() % 10)) * 86_400)
                pms.append(
                    CloudEvent(
                        id: "sim-pms-\(plan)-\(Int(now.timeIntervalSince1970))", source: "simulator/pms", time: now,
                        data: AppointmentChanged(
                            organizationID: model.organizationID, locationID: loc, appointmentID: "pms-\(plan)", changedAt: now,
                            status: .scheduled,
                            patientID: patient, providerID: provider, start: start, lengthMinutes: 60, planID: plan)))
            case .decline(let plan, let loc):
                counters["declined", default: 0] += 1
                changes.append(
                    CloudEvent(
                        id: "sim-decline-\(plan)", source: "simulator/pms", time: now,
                        data: PlanChanged(
                            organizationID: model.organizationID, locationID: loc, planID: plan, changedAt: now, change: .declined,
                            reason: "patient declined at follow-up")))
            case .resolveTask(let plan, let kind, let outcome):
                counters["task_\(outcome)", default: 0] += 1
                try await resolveTask(plan: plan, kind: kind, outcome: outcome)
            case .patient(let action):
                try await perform(action)
            }
        }
        if !pms.isEmpty {
            try await publish(pms, type: .appointmentChanged)
            published.offerInputs += pms.count
            published.lifecycleInputs += pms.count
        }
        if !changes.isEmpty {
            try await publish(changes, type: .planChanged)
            published.lifecycleInputs += changes.count
        }
    }

    /// The patient opens the link, picks the first opening and books it.
    func bookThroughLink(_ token: String) async throws -> String {
        let link = "\(settings.bookingURL)/book/\(token)"
        let answer = try await SimulationHTTP.send("GET", link, headers: [("Accept", "application/json")])
        guard answer.status == 200, let page = try? JSONParser.parse(answer.body),
            let first = page["openings"]?.arrayValue?.first, let reservation = first["reservation_id"]?.int64Value
        else { return "link_unusable" }
        let booked = try await SimulationHTTP.send(
            "POST", link, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Array("{\"reservation_id\": \(reservation)}".utf8))
        switch booked.status {
        case 200: return "booked_link"
        case 409: return "booking_conflict"
        default: return "link_unusable"
        }
    }

    /// The coordinator resolves the case's open task of that kind through the staff API, as the
    /// workspace does: the task's URL id is its public id, found by listing the plan's open tasks.
    func resolveTask(plan: String, kind: String, outcome: String) async throws {
        let query = plan.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? plan
        let list = try await SimulationHTTP.send(
            "GET", "\(settings.staffURL)/tasks?status=open&plan=\(query)", headers: [("Authorization", "Bearer \(settings.staffKey)")])
        guard let tasks = (try? JSONParser.parse(list.body))?["tasks"]?.arrayValue,
            let id = tasks.first(where: { $0["kind"]?.stringValue == kind })?["id"]?.stringValue
        else { return }
        _ = try await SimulationHTTP.send(
            "POST", "\(settings.staffURL)/tasks/\(id)/resolve",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(settings.staffKey)")],
            body: Array("{\"outcome\": \"\(outcome)\"}".utf8))
    }
}

public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
