import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres batched insert")
    struct BatchInsert {
        @Test func unnestInsertsTenThousandRows() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            try await connection.simpleQuery("CREATE TABLE events (name text, seq int8)")
            let count = 10_000
            let names = (0..<count).map { index in
                switch index % 5 {
                case 0: "event-\(index)"
                case 1: "quote \" and \\ backslash \(index)"
                case 2: "NULL"
                case 3: ""
                default: "ünï, {\(index)}"
                }
            }
            let seqs = (0..<count).map { $0 * 3 }
            let inserted = try await connection.execute(
                "INSERT INTO events (name, seq) SELECT * FROM unnest($1::text[], $2::int8[])", names, seqs)
            #expect(inserted == count)

            let rows = try await connection.query("SELECT name, seq FROM events ORDER BY seq")
            #expect(rows.count == count)
            #expect(try rows.map { try $0.decode(0, as: String.self) } == names)
            #expect(try rows.map { try $0.decode("seq", as: Int.self) } == seqs)
            let nulls = try await connection.query("SELECT count(*) FROM events WHERE name IS NULL")[0].decode(0, as: Int.self)
            #expect(nulls == 0)
        }
    }
}
