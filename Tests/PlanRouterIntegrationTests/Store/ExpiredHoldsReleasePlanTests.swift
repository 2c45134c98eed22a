import Foundation
import PlanRouterCore
import PlanRouterPostgres
import Testing

@testable import PlanRouterStore

/// The offer worker releases expired holds before every batch, so PostgreSQL keeps a generic
/// plan for the statement (`plan_cache_mode=auto`, docs/postgres.md). Without the statement's
/// `'-infinity'` lower bound, that plan took `expires_at <= $3` to keep a third of the active
/// holds (1.55 ms a call at 1,000 acceptances/s instead of 0.02 ms). This holds the generic plan
/// to what the bound is there for, on the real planner, and the release to what it does.
@Suite struct ExpiredHoldsReleasePlanTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let base: Int64 = 1_795_100_400
    static let locations = (1...20).map { LocationKey(organizationID: "org-1", locationID: "loc-\($0)") }

    /// 100 holds at each location, expiring an hour after `now`.
    func holds() -> [NewHoldRow] {
        Self.locations.enumerated().flatMap { index, location in
            (0..<100).map { h in
                NewHoldRow(
                    key: PlanKey(organizationID: "org-1", planID: "plan-\(index)-\(h)"), locationID: location.locationID, patientID: "pat",
                    opening: Opening(
                        providerID: "p\(h)", operatoryID: nil,
                        range: TimeRange(start: Self.base + Int64(h) * 3600, end: Self.base + Int64(h) * 3600 + 1800)),
                    expiresAt: Int64(Self.now.timeIntervalSince1970) + 3600)
            }
        }
    }

    @Test func theKeptPlanExpectsFewExpiredHoldsAndFindsThemThroughTheExpiryIndex() async throws {
        try await HoldInsertTests.withDatabase(locations: Self.locations) { conn in
            let rows = holds()
            let won = try await conn.transaction { tx in try await ReservationsRepository.insertHolds(rows, now: Self.now, on: tx) }
            #expect(won.count == 2_000)
            try await conn.simpleQuery("ANALYZE reservations")
            try await conn.simpleQuery("SET plan_cache_mode = force_generic_plan")
            try await conn.simpleQuery(
                "PREPARE release(text[], text[], timestamptz) AS " + ReservationsRepository.releaseExpiredHolds)
            let plan = try await conn.query("EXPLAIN EXECUTE release('{org-1}', '{loc-1}', '2026-11-19 12:00:00+00')")
                .map { try $0.decode(0, as: String.self) }
            let scan = try #require(plan.first { $0.contains("Scan") && $0.contains(" on reservations") }, "\(plan)")
            #expect(scan.contains("reservations_hold_expiry"), "\(plan)")
            // 0.5% of 2,000 is 10; a third would be ~667.
            let estimate = try #require(scan.firstMatch(of: /rows=(\d+)/).flatMap { Int($0.1) }, "\(scan)")
            #expect(estimate <= 20, "\(scan)")
        }
    }

    @Test func itReleasesOnlyTheExpiredHoldsOfTheLocationsGivenAndBumpsTheirCalendars() async throws {
        try await HoldInsertTests.withDatabase(locations: Self.locations) { conn in
            let rows = holds()
            _ = try await conn.transaction { tx in try await ReservationsRepository.insertHolds(rows, now: Self.now, on: tx) }
            func versions() async throws -> [String: Int] {
                Dictionary(
                    uniqueKeysWithValues: try await conn.query("SELECT id, calendar_version FROM locations WHERE organization_id = 'org-1'")
                        .map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) })
            }
            let before = try await versions()
            let later = Self.now.addingTimeInterval(7200)
            try await conn.transaction { tx in
                // Still valid at `now`: nothing goes.
                try await ReservationsRepository.releaseExpiredHoldsLater(at: [Self.locations[0]], now: Self.now, on: tx)
                // Expired two hours later, at the first two locations only.
                try await ReservationsRepository.releaseExpiredHoldsLater(at: Array(Self.locations.prefix(2)), now: later, on: tx)
            }
            let active = try await conn.query(
                "SELECT location_id, count(*) FROM reservations WHERE kind = 'hold' AND active GROUP BY location_id"
            ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) }
            #expect(Set(active.map(\.0)) == Set(Self.locations.dropFirst(2).map(\.locationID)))
            #expect(active.allSatisfy { $0.1 == 100 })
            let after = try await versions()
            #expect(after["loc-1"] == before["loc-1"].map { $0 + 1 })
            #expect(after["loc-2"] == before["loc-2"].map { $0 + 1 })
            #expect(after["loc-3"] == before["loc-3"])
        }
    }
}
