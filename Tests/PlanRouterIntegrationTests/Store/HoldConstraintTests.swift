import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// The edges of the two exclusion constraints on `reservations` (a hashed resource key plus the
/// range, migration 0006/0011), held to the real constraints: touching openings both hold, a
/// minute of overlap on the provider or the chair does not, and the same provider and chair ids
/// elsewhere are other resources. Any cheaper encoding of the constraints (docs/benchmarks.md,
/// tenth sitting: one int8range per row in SP-GiST, tried) must keep these answers.
@Suite struct HoldConstraintTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let minute: Int64 = 60
    /// 2026-11-19 09:00 UTC, on a whole minute.
    static let nine: Int64 = 1_795_078_800

    func withDatabase(_ body: (PostgresConnection) async throws -> Void) async throws {
        try await HoldInsertTests.withDatabase(
            locations: [("org-1", "loc-1"), ("org-1", "loc-2"), ("org-2", "loc-1")].map { LocationKey(organizationID: $0, locationID: $1) },
            body)
    }

    func hold(
        _ plan: String, org: String = "org-1", loc: String = "loc-1", provider: String, operatory: String?, from: Int64, to: Int64
    ) -> NewHoldRow {
        NewHoldRow(
            key: PlanKey(organizationID: org, planID: plan), locationID: loc, patientID: "pat-\(plan)",
            opening: Opening(providerID: provider, operatoryID: operatory, range: TimeRange(start: from, end: to)),
            expiresAt: Int64(Self.now.timeIntervalSince1970) + 86_400)
    }

    func won(_ rows: [NewHoldRow], _ conn: PostgresConnection) async throws -> Set<String> {
        Set(
            try await conn.transaction { tx in try await ReservationsRepository.insertHolds(rows, now: Self.now, on: tx) }.map(\.key.planID)
        )
    }

    @Test func touchingOpeningsOfOneProviderAndChairBothHold() async throws {
        try await withDatabase { conn in
            let m = Self.minute
            let a = try await won([hold("a", provider: "p1", operatory: "op1", from: Self.nine, to: Self.nine + 30 * m)], conn)
            let b = try await won([hold("b", provider: "p1", operatory: "op1", from: Self.nine + 30 * m, to: Self.nine + 60 * m)], conn)
            let c = try await won([hold("c", provider: "p1", operatory: "op1", from: Self.nine - 15 * m, to: Self.nine)], conn)
            #expect([a, b, c] == [["a"], ["b"], ["c"]])
        }
    }

    @Test func aMinuteOfOverlapOnTheProviderOrTheChairLoses() async throws {
        try await withDatabase { conn in
            let m = Self.minute
            let first = try await won([hold("a", provider: "p1", operatory: "op1", from: Self.nine, to: Self.nine + 30 * m)], conn)
            #expect(first == ["a"])
            let rows = [
                hold("b", provider: "p1", operatory: "op2", from: Self.nine + 29 * m, to: Self.nine + 60 * m),  // p1's last minute
                hold("c", provider: "p2", operatory: "op1", from: Self.nine - 30 * m, to: Self.nine + 1 * m),  // op1's first minute
                hold("d", provider: "p2", operatory: "op2", from: Self.nine, to: Self.nine + 30 * m),  // clear of a (b, on op2 too, lost)
            ]
            let second = try await won(rows, conn)
            #expect(second == ["d"])
        }
    }

    /// The keys hash the organization and location with the resource id, so equal ids at
    /// another location or in another organization are other resources.
    @Test func theSameIdsElsewhereAreOtherResources() async throws {
        try await withDatabase { conn in
            let m = Self.minute
            let rows = [
                hold("a", provider: "p1", operatory: "op1", from: Self.nine, to: Self.nine + 30 * m),
                hold("b", loc: "loc-2", provider: "p1", operatory: "op1", from: Self.nine, to: Self.nine + 30 * m),
                hold("c", org: "org-2", provider: "p1", operatory: "op1", from: Self.nine, to: Self.nine + 30 * m),
            ]
            let all = try await won(rows, conn)
            #expect(all == ["a", "b", "c"])
        }
    }

    /// Far-off times hold and still refuse overlaps.
    @Test func distantTimesStillHoldAndRefuse() async throws {
        try await withDatabase { conn in
            let m = Self.minute
            let late: Int64 = 4_102_444_800  // 2100-01-01
            let a = try await won([hold("a", provider: "p1", operatory: nil, from: late, to: late + 30 * m)], conn)
            let b = try await won([hold("b", provider: "p1", operatory: nil, from: late + 10 * m, to: late + 40 * m)], conn)
            let c = try await won([hold("c", provider: "p1", operatory: nil, from: late + 30 * m, to: late + 60 * m)], conn)
            #expect([a, b, c] == [["a"], [], ["c"]])
        }
    }
}
