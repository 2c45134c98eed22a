import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterKafka

/// `planrouter bench generate`: the synthetic events of the benches as NDJSON, for
/// `planrouter produce` and `planrouter availability import` (scripts/chaos uses them).
struct BenchGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Print the benches' synthetic events as NDJSON CloudEvents (acceptances or schedules) on standard output.",
        discussion: """
            The same events as `bench pipeline`: deterministic for the same options.
              planrouter bench generate acceptances --tag run1 --count 1000 --locations 20 | planrouter produce
              planrouter bench generate schedules --locations 20 | planrouter availability import
            """,
        subcommands: [Acceptances.self, Schedules.self])

    struct Acceptances: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "plan.accepted envelopes with ids <tag>-e<i> and plans <tag>-p<i>, for i in --first ..< --first + --count.")
        @Option(help: "Prefix of event and plan ids; use a new one per run.") var tag: String
        @Option(help: "How many acceptances.") var count: Int
        @Option(help: "Index of the first acceptance.") var first: Int = 0
        @Option(help: "Distinct locations (events are keyed by location).") var locations: Int = 200

        func run() async throws {
            guard count >= 0, first >= 0, locations > 0 else {
                throw ValidationError("--count and --first must not be negative, --locations must be positive")
            }
            let generator = EnvelopeGenerator(tag: tag, locations: locations)
            var out = Data()
            for i in first..<(first + count) {
                out.append(contentsOf: generator.message(index: i, topic: "").value)
                out.append(0x0A)
                if out.count > 1 << 20 {
                    FileHandle.standardOutput.write(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            FileHandle.standardOutput.write(out)
        }
    }

    struct Schedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "schedule.changed events: the generator's locations, four dentists and an injector each, weekdays 08-17 for 90 days.")
        @Option(help: "Distinct locations.") var locations: Int = 200

        func run() async throws {
            guard locations > 0 else { throw ValidationError("--locations must be positive") }
            var out = Data()
            for e in SyntheticEvents.schedules(locations: locations, now: WallClock().now()) {
                out.append(contentsOf: e.serializedBytes())
                out.append(0x0A)
            }
            FileHandle.standardOutput.write(out)
        }
    }
}

/// Synthetic events shared by the benches and `bench generate`.
enum SyntheticEvents {
    /// schedule.changed events: weekday schedules 08:00-17:00 (America/New_York) for every
    /// location of `EnvelopeGenerator` (its four dentists and an injector), for 90 days from
    /// the day of `now`.
    static func schedules(locations: Int, now: Date) -> [CloudEvent] {
        let zone = TimeZone(identifier: "America/New_York")!
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = zone
        let today = cal.startOfDay(for: now)
        var events: [CloudEvent] = []
        for loc in 0..<locations {
            let providers = (0..<4).map { "prov-\(loc)-\($0)" } + ["inj-\(loc)"]
            var blocks: [JSONValue] = []
            for d in 0..<90 {
                let day = cal.date(byAdding: .day, value: d, to: today)!
                guard ![1, 7].contains(cal.component(.weekday, from: day)) else { continue }
                let open = cal.date(bySettingHour: 8, minute: 0, second: 0, of: day)!
                let close = cal.date(bySettingHour: 17, minute: 0, second: 0, of: day)!
                for p in providers {
                    blocks.append(
                        .object(["provider_id": .string(p), "start": .string(RFC3339.format(open)), "end": .string(RFC3339.format(close))]))
                }
            }
            let last = cal.date(byAdding: .day, value: 89, to: today)!
            let ymd = { (d: Date) in String(RFC3339.format(d, in: zone).prefix(10)) }
            events.append(
                CloudEvent(
                    id: "bench-schedule-\(loc)", source: "bench", type: .scheduleChanged, time: now,
                    data: .object([
                        "organization_id": .string("org-\(loc % 10)"), "location_id": .string("loc-\(loc)"),
                        "changed_at": .string(RFC3339.format(now)),
                        "time_zone": .string(zone.identifier), "from": .string(ymd(today)), "to": .string(ymd(last)),
                        "providers": .array(
                            providers.enumerated().map { i, p in
                                .object([
                                    "id": .string(p), "roles": [i < 4 ? "dentist" : "injector"],
                                    "operatory_ids": .array((1...5).map { .string("op-\($0)") }),
                                ])
                            }),
                        "blocks": .array(blocks),
                    ])))
        }
        return events
    }
}

/// Realistic plan.accepted envelopes: tiers vary by index; ids are unique per run.
struct EnvelopeGenerator: Sendable {
    let tag: String
    let locations: Int

    static let mixes: [(codes: [(String, String, Int64)], service: Bool)] = [
        (
            [
                ("D6010", "surgical placement of implant body: endosteal", 240_000),
                ("D6065", "implant supported porcelain/ceramic crown", 165_000),
            ], false
        ),
        ([("D2740", "crown - porcelain/ceramic", 135_000)], false),
        ([("BOTOX-20U", "Botox 20 units, glabellar lines", 38_000)], true),
        ([("D1351", "sealant - per tooth", 6_500), ("D1351", "sealant - per tooth", 6_500)], false),
        ([("D4341", "periodontal scaling and root planing - four or more teeth per quadrant", 28_000)], false),
    ]
    static let names = ["Maria", "James", "Aiko", "Olu", "Priya", "Lena", "Tomás", "Grace"]
    static let sources = ["chair", "digital_consent", "coordinator", "online"]

    func message(index i: Int, topic: String, latencySeq: Int? = nil, sentAt: ContinuousClock.Instant? = nil) -> KafkaOutgoingMessage {
        let loc = i % locations
        let location = "loc-\(loc)"
        let org = "org-\(loc % 10)"
        let plan = latencySeq.map { "\(tag)-lat-\($0)" } ?? "\(tag)-p\(i)"
        var id = latencySeq.map { "\(tag)-lat-\($0)" } ?? "\(tag)-e\(i)"
        if sentAt != nil {
            // The send time also rides in the event id (Unix nanoseconds) for anyone reading the topic.
            id += "-t\(UInt64(Date().timeIntervalSince1970 * 1e9))"
        }
        let mix = Self.mixes[i % Self.mixes.count]
        let procedures: [JSONValue] = mix.codes.enumerated().map { n, c in
            var o: JSONObject = ["code": .string(c.0), "description": .string(c.1), "fee_cents": .int(c.2)]
            if mix.service {
                o["code_system"] = "service"
                o["minutes"] = 30
                o["provider_role"] = "injector"
            } else if c.0 == "D1351" {
                o["tooth"] = .string(["3", "14"][n % 2])
            }
            return .object(o)
        }
        let total = mix.codes.reduce(Int64(0)) { $0 + $1.2 }
        let stillInOffice = i % 3 == 0
        var patient: JSONObject = [
            "id": .string("pat-\(i)"), "first_name": .string(Self.names[i % Self.names.count]),
            "preferred_channel": i % 7 == 0 ? "email" : "sms", "sms_consent": .bool(i % 11 != 0),
            "still_in_office": .bool(stillInOffice),
        ]
        patient["phone"] = .string("+1555\(String(format: "%07d", i % 10_000_000))")
        if i % 7 == 0 { patient["email"] = .string("patient\(i)@example.com") }
        let acceptedAt = RFC3339.format(Date(timeIntervalSince1970: 1_796_000_000 + Double(i)))
        var data: JSONObject = [
            "organization_id": .string(org), "location_id": .string(location), "plan_id": .string(plan),
            "accepted_at": .string(acceptedAt), "acceptance_source": .string(Self.sources[i % Self.sources.count]),
            "patient": .object(patient), "provider_id": .string("prov-\(loc)-\(i % 4)"),
            "procedures": .array(procedures), "total_fee_cents": .int(total),
        ]
        if i % 2 == 0 { data["patient_portion_cents"] = .int(total / 2) }
        if i % 5 == 0 { data["coordinator_id"] = .string("coord-\(loc)") }
        let envelope: JSONValue = .object([
            "specversion": "1.0", "id": .string(id), "source": .string("opendental/\(location)"),
            "type": "planrouter.plan.accepted.v1", "time": .string(acceptedAt), "subject": .string(plan),
            "datacontenttype": "application/json", "data": .object(data),
        ])
        return KafkaOutgoingMessage(
            topic: topic, key: Array(location.utf8), value: envelope.serializedBytes(),
            headers: [KafkaHeader(key: "content-type", value: Array("application/cloudevents+json".utf8))])
    }
}
