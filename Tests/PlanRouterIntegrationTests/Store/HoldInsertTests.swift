import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

/// `ReservationsRepository.insertHolds` tries a plain insert under a savepoint and, when an
/// exclusion constraint refuses a row, rolls back to the savepoint and skips the losers with
/// `ON CONFLICT DO NOTHING`. These tests drive both paths against the real constraints.
@Suite struct HoldInsertTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)
    static let hour: Int64 = 3600
    static let base: Int64 = 1_795_100_400

    func withDatabase(_ body: (PostgresConnection) async throws -> Void) async throws {
        try await Self.withDatabase(locations: [LocationKey(organizationID: "org-1", locationID: "loc-1")], body)
    }

    /// A fresh migrated database with `locations` in it (shared with `HoldConstraintTests`).
    static func withDatabase(locations: [LocationKey], _ body: (PostgresConnection) async throws -> Void) async throws {
        let conn = try await PostgresConnection.connect(try await MigratedDatabase.fresh(prefix: "holds"), logger: testLogger)
        defer { conn.close() }
        for location in locations { try await LocationsRepository.ensure(location, on: conn) }
        try await body(conn)
    }

    func hold(_ plan: String, provider: String, operatory: String?, hour h: Int64) -> NewHoldRow {
        NewHoldRow(
            key: PlanKey(organizationID: "org-1", planID: plan), locationID: "loc-1", patientID: "pat-\(plan)",
            opening: Opening(
                providerID: provider, operatoryID: operatory,
                range: TimeRange(start: Self.base + h * Self.hour, end: Self.base + (h + 1) * Self.hour)),
            expiresAt: Int64(Self.now.timeIntervalSince1970) + 86_400)
    }

    func activeHolds(_ conn: PostgresConnection) async throws -> [String] {
        try await conn.query(
            "SELECT plan_id || '@' || provider_id || '+' || ((extract(epoch FROM lower(during))::int8 - $1) / 3600) FROM reservations WHERE active ORDER BY 1",
            Self.base
        ).map { try $0.decode(0, as: String.self) }
    }

    @Test func freeOpeningsAllWinWithTheirIDs() async throws {
        try await withDatabase { conn in
            let won = try await conn.transaction { tx in
                try await ReservationsRepository.insertHolds(
                    [hold("a", provider: "p1", operatory: "op1", hour: 0), hold("b", provider: "p1", operatory: "op1", hour: 1)],
                    now: Self.now, on: tx)
            }
            #expect(Set(won.map(\.key.planID)) == ["a", "b"])
            #expect(Set(won.map(\.reservationID)).count == 2)
            #expect(try await activeHolds(conn) == ["a@p1+0", "b@p1+1"])
        }
    }

    /// A competitor's hold on the provider's time, and another's on the chair: the rows in the
    /// way lose, the rest win, and writes queued before the insert in the same transaction stay.
    @Test func rowsInTheWayLoseAndTheRestOfTheTransactionStands() async throws {
        try await withDatabase { conn in
            _ = try await conn.transaction { tx in
                try await ReservationsRepository.insertHolds(
                    [hold("x", provider: "p1", operatory: "op9", hour: 2), hold("y", provider: "p7", operatory: "op1", hour: 5)],
                    now: Self.now, on: tx)
            }
            let won = try await conn.transaction { tx -> [WonHold] in
                // Queued before the insert, so it travels in the same pipeline as the savepoint.
                try await tx.executeLater("UPDATE locations SET calendar_version = calendar_version + 41 WHERE id = 'loc-1'")
                let won = try await ReservationsRepository.insertHolds(
                    [
                        hold("a", provider: "p1", operatory: "op1", hour: 1),
                        hold("a", provider: "p1", operatory: "op1", hour: 2),  // p1 is held by x
                        hold("b", provider: "p2", operatory: "op1", hour: 5),  // op1 is held by y
                        hold("b", provider: "p2", operatory: "op2", hour: 6),
                    ], now: Self.now, on: tx)
                // The transaction is usable after the fallback.
                _ = try await tx.execute("UPDATE locations SET calendar_version = calendar_version + 1 WHERE id = 'loc-1'")
                return won
            }
            #expect(Set(won.map { "\($0.key.planID)@\($0.providerID)+\(($0.start - Self.base) / Self.hour)" }) == ["a@p1+1", "b@p2+6"])
            #expect(try await activeHolds(conn) == ["a@p1+1", "b@p2+6", "x@p1+2", "y@p7+5"])
            let version = try await conn.query("SELECT calendar_version FROM locations WHERE id = 'loc-1'")[0].decode(0, as: Int64.self)
            #expect(version >= 42)
            #expect(try await conn.query("SELECT count(*) FROM reservations")[0].decode(0, as: Int64.self) == 4)
        }
    }

    /// Two rows of one batch that overlap each other: exactly one of them is held.
    @Test func overlappingRowsOfOneBatchHoldOnce() async throws {
        try await withDatabase { conn in
            let won = try await conn.transaction { tx in
                try await ReservationsRepository.insertHolds(
                    [hold("a", provider: "p1", operatory: nil, hour: 3), hold("b", provider: "p1", operatory: nil, hour: 3)],
                    now: Self.now, on: tx)
            }
            #expect(won.count == 1)
            #expect(try await activeHolds(conn).count == 1)
        }
    }

    /// Consecutive inserts in one transaction, the first through the fallback and the second
    /// plain: each releases its savepoint, so none is left open when the transaction goes on.
    @Test func noSavepointIsLeftOpen() async throws {
        try await withDatabase { conn in
            _ = try await conn.transaction { tx in
                try await ReservationsRepository.insertHolds([hold("x", provider: "p1", operatory: nil, hour: 0)], now: Self.now, on: tx)
            }
            let error = await #expect(throws: PostgresError.self) {
                try await conn.transaction { tx in
                    let first = try await ReservationsRepository.insertHolds(
                        [hold("a", provider: "p1", operatory: nil, hour: 0), hold("a", provider: "p1", operatory: nil, hour: 1)],
                        now: Self.now, on: tx)
                    #expect(first.map(\.key.planID) == ["a"])
                    let second = try await ReservationsRepository.insertHolds(
                        [hold("b", provider: "p1", operatory: nil, hour: 2)], now: Self.now, on: tx)
                    #expect(second.count == 1)
                    try await tx.simpleQuery("RELEASE SAVEPOINT hold_insert")
                }
            }
            #expect(error?.sqlState == "3B001")  // no such savepoint
            #expect(try await activeHolds(conn) == ["x@p1+0"])
        }
    }
}
