import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// `planrouter locations load`: versions, what the workers read from it, and tenants apart.
@Suite struct LocationDirectoryTests {
    static func file(org: String = "org-1", name: String = "Smile Dental Riverside", restorativeOwner: String = "coord-rita") -> String {
        """
        format: 1
        organization: { id: \(org), name: Smile Dental Group, same_day_target: 40% }
        locations:
          loc-12:
            name: \(name)
            phone: "+15555550100"
            address: 12 River St
            coordinators: { default: coord-anna, restorative: \(restorativeOwner) }
            quiet_hours: { start: "20:00", end: "10:00" }
          loc-13:
            name: Smile Dental Lakeside
            time_zone: America/Chicago

        """
    }

    func load(_ h: PipelineHarness, _ yaml: String) async throws -> LocationDirectoryRepository.LoadResult {
        try await h.pool.withConnection { try await LocationDirectoryRepository.load(yaml: yaml, now: Date(), on: $0) }
    }

    @Test func eachChangedFileIsTheNextVersionAndWhatItSaysIsWhatTheWorkersRead() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])  // loc-12 exists, in New York, before the file
        let first = try await load(h, Self.file())
        #expect(first == .init(version: 1, created: true, unlisted: []))
        #expect(try await load(h, Self.file()) == .init(version: 1, created: false, unlisted: []))
        let second = try await load(h, Self.file(name: "Smile Dental on the River"))
        #expect(second.version == 2 && second.created)
        #expect(try await h.count("SELECT count(*) FROM location_directories WHERE organization_id = 'org-1'") == 2)

        let infos = try await h.pool.withConnection {
            try await LocationsRepository.infos(
                [LocationKey(organizationID: "org-1", locationID: "loc-12"), LocationKey(organizationID: "org-1", locationID: "loc-13")],
                on: $0)
        }
        let riverside = try #require(infos[LocationKey(organizationID: "org-1", locationID: "loc-12")])
        #expect(riverside.name == "Smile Dental on the River")
        // No zone in the file: the one the PMS reported stays.
        #expect(riverside.timeZone.identifier == "America/New_York")
        #expect(riverside.quietHours == RoutingRules.QuietHours(startMinute: 20 * 60, endMinute: 10 * 60))
        #expect(riverside.owner(tier: "restorative", planCoordinator: "coord-pms") == "coord-rita")
        #expect(riverside.owner(tier: "surgical", planCoordinator: "coord-pms") == "coord-pms")
        #expect(riverside.owner(tier: "surgical", planCoordinator: nil) == "coord-anna")
        let lakeside = try #require(infos[LocationKey(organizationID: "org-1", locationID: "loc-13")])
        #expect(lakeside.timeZone.identifier == "America/Chicago" && lakeside.quietHours == nil)
        #expect(try await h.count("SELECT count(*) FROM organizations WHERE id = 'org-1' AND same_day_target_pct = 40") == 1)

        // A location the organization has but the file leaves out is named, and left alone.
        _ = try await h.pool.withConnection {
            try await LocationsRepository.ensure(LocationKey(organizationID: "org-1", locationID: "loc-99"), on: $0)
        }
        #expect(try await load(h, Self.file(name: "x")).unlisted == ["loc-99"])
        await h.close()
    }

    @Test func anInvalidFileChangesNothingAndNamesEveryProblem() async throws {
        let h = try await PipelineHarness(partitions: 1)
        let bad = Self.file().replacingOccurrences(of: "+15555550100", with: "555-0100")
            .replacingOccurrences(of: "America/Chicago", with: "Mars/Olympus")
        let error = try await #require(throws: RulesValidationError.self) { try await load(h, bad) }
        #expect(error.errors.map(\.path) == ["locations.loc-12.phone", "locations.loc-13.time_zone"])
        #expect(try await h.count("SELECT count(*) FROM location_directories") == 0)
        await h.close()
    }

    @Test func twoOrganizationsWithTheSameLocationIdKeepTheirOwnDetails() async throws {
        let h = try await PipelineHarness(partitions: 1)
        _ = try await load(h, Self.file(org: "org-1", name: "Smile Riverside"))
        _ = try await load(h, Self.file(org: "org-2", name: "Glow Medspa Riverside", restorativeOwner: "coord-gina"))
        let infos = try await h.pool.withConnection {
            try await LocationsRepository.infos(
                [LocationKey(organizationID: "org-1", locationID: "loc-12"), LocationKey(organizationID: "org-2", locationID: "loc-12")],
                on: $0)
        }
        #expect(infos[LocationKey(organizationID: "org-1", locationID: "loc-12")]?.name == "Smile Riverside")
        #expect(infos[LocationKey(organizationID: "org-2", locationID: "loc-12")]?.name == "Glow Medspa Riverside")
        #expect(
            infos[LocationKey(organizationID: "org-2", locationID: "loc-12")]?.owner(tier: "restorative", planCoordinator: nil)
                == "coord-gina")
        await h.close()
    }

    /// The crown case of EscalationTests with the file loaded: the offer text names the location, the
    /// night nudge waits for the file's 10:00 (not the rules' 08:00), and the day-three task goes to
    /// the restorative owner.
    @Test func theOfferNamesTheLocationTheNudgeWaitsForItsQuietHoursAndTheTaskGoesToTheTiersOwner() async throws {
        let h = try await PipelineHarness(partitions: 1)
        try await h.publishSchedule(events: [TestEvents.schedule()])
        _ = try await load(h, Self.file())
        let c = try await EscalationTests().offeredCrown(h)
        // Wed 2026-12-02 22:00 in New York: quiet until 10:00 local = 15:00 UTC.
        c.clock.set(RFC3339.parse("2026-12-03T03:00:00Z")!)
        try await eventually("postponed to 10:00") {
            try await h.count("SELECT count(*) FROM timers WHERE step = 1 AND status = 'pending' AND due_at = '2026-12-03T15:00:00Z'") == 1
        }
        c.clock.set(EscalationTests.accepted.addingTimeInterval(72 * 3600 + 180))
        try await eventually("task") { try await h.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'escalation'") == 1 }
        #expect(try await h.count("SELECT count(*) FROM coordinator_tasks WHERE owner_id = 'coord-rita'") == 1)
        try await eventually("all published") { try await h.count("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0 }
        await c.stop()
        let messages = try await h.consumeAll(topic: h.topics[.patientMessages], expected: 1)
        let offer = try EventValidator.shared.decode(messages[0].value).decode(PatientMessage.self)
        #expect(offer.kind == .offer && offer.body.contains("Smile Dental Riverside"))
        await h.close()
    }
}
