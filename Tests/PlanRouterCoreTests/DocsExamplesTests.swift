import Foundation
import PlanRouterCore
import Testing

/// Every ```json example in docs/events.md is a valid event, validated exactly as the
/// workers validate input, and every event type has at least one example.
@Suite struct DocsExamplesTests {
    struct Example {
        var line: Int
        var event: CloudEvent
    }

    /// Decodes every ```json block; records an issue naming the line and the rejection for each invalid one.
    func examples() throws -> [Example] {
        let blocks = try Docs.codeBlocks(in: try Docs.text("docs/events.md"), language: "json")
        var out: [Example] = []
        for b in blocks {
            do {
                out.append(Example(line: b.line, event: try EventValidator.shared.decode(Array(b.text.utf8))))
            } catch {
                Issue.record("docs/events.md: the ```json example at line \(b.line) is invalid: \(error.description)")
            }
        }
        return out
    }

    @Test func everyExampleIsAValidEvent() throws {
        let blocks = try Docs.codeBlocks(in: try Docs.text("docs/events.md"), language: "json")
        #expect(blocks.count >= EventType.allCases.count)
        let valid = try examples()
        #expect(valid.count == blocks.count, "\(blocks.count - valid.count) invalid example(s)")
        for e in valid {
            #expect(e.event.locationID != nil, "example at line \(e.line) has no data.location_id (the Kafka key)")
        }
    }

    @Test func everyEventTypeHasAnExample() throws {
        let covered = Set(try examples().map(\.event.type))
        let missing = EventType.allCases.filter { !covered.contains($0) }.map(\.name)
        #expect(missing.isEmpty, "docs/events.md has no example for: \(missing.joined(separator: ", "))")
    }

    /// The four plan.accepted cases connector authors asked for, and an Open Dental pattern.
    @Test func requiredExamplesArePresent() throws {
        let all = try examples()
        let plans = all.filter { $0.event.type == .planAccepted }.map { try! PlanAccepted(data: $0.event.data) }
        func has(_ test: (PlanAccepted) -> Bool) -> Bool { plans.contains(where: test) }
        #expect(has { p in Set(p.procedures.map(\.code)).isSuperset(of: ["D6010", "D6065"]) }, "implant example (D6010 + D6065)")
        #expect(has { p in p.procedures.contains { $0.code == "D2740" } }, "crown example (D2740)")
        #expect(
            has { p in p.procedures.contains { $0.system == .service && $0.code.hasPrefix("BOTOX") && $0.minutes != nil } }, "Botox example"
        )
        #expect(has { p in p.procedures.contains { $0.code == "D1351" } }, "sealant example (D1351)")
        let patterns = all.filter { $0.event.type == .appointmentChanged }.compactMap { $0.event.data["pattern"]?.stringValue }
        #expect(patterns.contains { $0.contains("X") && $0.contains("/") }, "appointment.changed example with an Open Dental pattern")
    }

    /// The plan.classified example is what the classifier really produces for the
    /// plan.accepted example of the same plan under the shipped rules.
    @Test func classifiedExampleMatchesTheClassifier() throws {
        let all = try examples()
        let classified = all.filter { $0.event.type == .planClassified }
        #expect(!classified.isEmpty)
        for c in classified {
            let d = c.event.data
            let planID = try #require(d["plan_id"]?.stringValue)
            let source = try #require(
                all.first { $0.event.type == .planAccepted && $0.event.data["plan_id"]?.stringValue == planID },
                "no plan.accepted example for \(planID)")
            let plan = try PlanAccepted(data: source.event.data)
            let version = try #require(d["rules_version"]?.intValue)
            #expect(version == 0, "the example should use the shipped default rules (version 0)")
            let r = Classifier.classify(plan, rules: RoutingRules.defaults, rulesVersion: version)
            #expect(d["tier"]?.stringValue == r.tier.rawValue)
            #expect(d["path"]?.stringValue == r.path.rawValue)
            #expect(d["chair_minutes"]?.intValue == r.chairMinutes)
            #expect(d["value_cents"]?.int64Value == r.valueCents)
            #expect(d["deposit_cents"]?.int64Value == r.depositCents)
            #expect(d["first_offer_sla_minutes"]?.intValue == r.firstOfferSLASeconds / 60)
            #expect(d["provider_role"]?.stringValue == r.providerRole?.rawValue)
            #expect(d["reasons"]?.arrayValue?.compactMap(\.stringValue) == r.reasons)
            #expect(d["accepted_at"]?.stringValue == RFC3339.format(plan.acceptedAt))
        }
    }

    /// docs/rules.md shows, for every plan.accepted example, exactly the reasons the classifier stores.
    @Test func rulesDocShowsTheClassifiersReasons() throws {
        let shown = Set(
            try Docs.codeBlocks(in: try Docs.text("docs/rules.md"), language: "text").map {
                $0.text.trimmingCharacters(in: .whitespacesAndNewlines)
            })
        let plans = try examples().filter { $0.event.type == .planAccepted }
        #expect(plans.count >= 4)
        for e in plans {
            let plan = try PlanAccepted(data: e.event.data)
            let reasons = Classifier.classify(plan, rules: RoutingRules.defaults, rulesVersion: 0).reasons.joined(separator: "\n")
            #expect(shown.contains(reasons), "docs/rules.md lacks the reasons of \(plan.planID) (events.md line \(e.line)):\n\(reasons)")
        }
    }
}
