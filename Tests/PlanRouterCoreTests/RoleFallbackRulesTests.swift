import PlanRouterCore
import Testing

/// Issue 12, point 3: `role_fallback` is the only way a case reaches another role, and `rules validate`
/// names the exact YAML path of a bad entry.
@Suite struct RoleFallbackRulesTests {
    func yaml(_ fallback: String) -> String {
        """
        format: planrouter.rules/v1
        default_tier: surgical
        tiers:
          - name: surgical
            match: { ranges: [D7000-D7999] }
            first_offer_sla: 15m
            provider_role: oral_surgeon
        \(fallback)
        """
    }

    @Test func aListOfKnownRolesInOrder() throws {
        let r = try RoutingRules(yaml: yaml("    role_fallback: [periodontist, dentist]"))
        #expect(r.tier(named: "surgical")?.roleFallback == ["periodontist", "dentist"])
        #expect(try RoutingRules(yaml: yaml("")).tier(named: "surgical")?.roleFallback == [])
        #expect(RoutingRules.defaults.tiers.allSatisfy { $0.roleFallback.isEmpty })
    }

    @Test func unknownAndDuplicateRolesAreReportedWithTheirPath() {
        do {
            _ = try RoutingRules(yaml: yaml("    role_fallback: [dentist, general_dentist, dentist]"))
            Issue.record("expected errors")
        } catch let e as RulesValidationError {
            // (The tier is then invalid, so `default_tier` names no tier too.)
            let own = e.errors.filter { $0.path.contains("role_fallback") }
            #expect(own.map(\.path) == ["tiers[0].role_fallback[1]", "tiers[0].role_fallback[2]"])
            #expect(own.first?.message.hasPrefix("unknown role") == true)
            #expect(own.last?.message == "duplicate role dentist")
            #expect(own.allSatisfy { $0.line != nil })
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: RulesValidationError.self) { try RoutingRules(yaml: yaml("    role_fallback: dentist")) }
    }
}
