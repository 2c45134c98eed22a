import Foundation
import PlanRouterCore
import Testing

/// locations.yaml parsing and validation (no services).
@Suite struct LocationDirectoryFileTests {
    @Test func theShippedExampleIsValidAndSaysWhatItMeans() throws {
        let d = try LocationDirectory(yaml: LocationDirectory.exampleYAML)
        #expect(d.organizationID == "org-smile" && d.organizationName == "Smile Dental Group" && d.sameDayTargetPercent == 40)
        #expect(d.locations.map(\.id) == ["loc-riverside", "loc-lakeside"])
        let r = d.locations[0]
        #expect(r.name == "Smile Dental Riverside" && r.timeZone == "America/Chicago" && r.phone == "+15555550100")
        #expect(r.defaultCoordinator == "coord-anna" && r.coordinatorsByTier == ["surgical": "coord-ben", "aesthetic": "coord-cara"])
        #expect(r.quietHours == RoutingRules.QuietHours(startMinute: 20 * 60, endMinute: 8 * 60) && r.sameDayTargetPercent == 50)
        #expect(d.locations[1].timeZone == nil && d.locations[1].quietHours == nil && d.locations[1].defaultCoordinator == "coord-dan")
    }

    @Test func everyProblemIsListedWithItsPath() throws {
        let yaml = """
            format: 1
            organization: { id: "bad id", name: "" , same_day_target: 140% }
            locations:
              loc-1:
                phone: "5550100"
                time_zone: EST
                coordinators: { Surgical: coord-b, default: "x y" }
                quiet_hours: { start: "25:00", end: "08:00" }
                colour: blue
              loc-1:
                name: twice
            """
        let error = try #require(throws: RulesValidationError.self) { try LocationDirectory(yaml: yaml) }
        let paths = error.errors.map(\.path)
        for expected in [
            "organization.id", "organization.name", "organization.same_day_target", "locations.loc-1.phone", "locations.loc-1.time_zone",
            "locations.loc-1.coordinators.Surgical", "locations.loc-1.coordinators.default", "locations.loc-1.quiet_hours.start",
            "locations.loc-1.colour", "locations.loc-1.name",
        ] {
            #expect(paths.contains(expected), "\(expected) not in \(paths)")
        }
        #expect(error.errors.contains { $0.path == "locations.loc-1" && $0.message.contains("twice") })
    }

    @Test func aFileMustSayItsFormatOrganizationAndLocations() throws {
        let error = try #require(throws: RulesValidationError.self) { try LocationDirectory(yaml: "organization: { id: o, name: O }\n") }
        #expect(Set(error.errors.map(\.path)) == ["format", "locations"])
        #expect(throws: RulesValidationError.self) {
            try LocationDirectory(yaml: "format: 2\norganization: { id: o, name: O }\nlocations: {}\n")
        }
        #expect(throws: RulesValidationError.self) { try LocationDirectory(yaml: "") }
    }

    @Test func theOwnerOfATaskIsTheTiersOwnerThenThePlansCoordinatorThenTheDefault() {
        let byTier = ["surgical": "coord-s"]
        #expect(
            CaseOwner.resolve(tier: "surgical", planCoordinator: "c-pms", byTier: byTier, locationDefault: "d", locationID: "l")
                == "coord-s")
        #expect(
            CaseOwner.resolve(tier: "add_on", planCoordinator: "c-pms", byTier: byTier, locationDefault: "d", locationID: "l") == "c-pms")
        #expect(CaseOwner.resolve(tier: "add_on", planCoordinator: nil, byTier: byTier, locationDefault: "d", locationID: "l") == "d")
        #expect(CaseOwner.resolve(tier: nil, planCoordinator: nil, byTier: byTier, locationDefault: nil, locationID: "l") == "location:l")
    }
}
