import Testing

@testable import PlanRouterPostgres

/// The bookkeeping of a session's prepared statements, without a server.
@Suite("Prepared statement cache")
struct PreparedStatementCacheTests {
    static func key(_ sql: String) -> PreparedStatementCache.Key { .init(sql: sql, types: [23]) }

    @Test func pastItsCapacityItHandsOutNoMoreNamesCountingThoseBeingPrepared() {
        var cache = PreparedStatementCache(capacity: 3)
        let first = cache.reserveName(reservedSoFar: 0)
        #expect(first != nil)
        cache.record(Self.key("a"), name: first!)
        // Two more fit: one being prepared in this pipeline and a third.
        #expect(cache.reserveName(reservedSoFar: 1) != nil)
        #expect(cache.reserveName(reservedSoFar: 2) == nil)
        cache.record(Self.key("b"), name: "planrouter_x")
        cache.record(Self.key("c"), name: "planrouter_y")
        #expect(cache.reserveName(reservedSoFar: 0) == nil)
        #expect(cache.name(for: Self.key("a")) == first)
    }

    @Test func namesAreNeverReusedEvenAfterEverythingIsForgotten() {
        var cache = PreparedStatementCache(capacity: 2)
        var seen: Set<String> = []
        for _ in 0..<3 {
            let name = cache.reserveName(reservedSoFar: 0)!
            #expect(seen.insert(name).inserted)
            cache.record(Self.key("a"), name: name)
            cache.forgetAll()
            #expect(cache.name(for: Self.key("a")) == nil)
        }
    }

    @Test func onlyStatementsWithParametersArePrepared() {
        #expect(!PreparedStatementCache.isEligible(PostgresStatement("COMMIT")))
        #expect(PreparedStatementCache.isEligible(PostgresStatement("SELECT $1::int4", Int32(1))))
    }

    @Test func aStatementThatAsksToBePlannedForItsValuesIsNotPrepared() {
        let sql = PostgresStatement.plannedForValues + "SELECT 1 WHERE now() > $1::timestamptz"
        #expect(!PreparedStatementCache.isEligible(PostgresStatement(sql, "2026-12-01T00:00:00Z")))
        // Only at the start: the marker is the statement's first words.
        #expect(PreparedStatementCache.isEligible(PostgresStatement("SELECT $1::int4 " + PostgresStatement.plannedForValues, Int32(1))))
    }
}
