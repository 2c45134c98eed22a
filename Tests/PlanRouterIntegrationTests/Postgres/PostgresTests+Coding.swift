import Foundation
import PlanRouterPostgres
import Testing

extension PostgresTests {
    @Suite("Postgres value coding")
    struct Coding {
        /// Sends `value` as a parameter and decodes what the server echoes back in its own output format.
        private func echo<T: PostgresEncodable & PostgresDecodable>(
            _ connection: PostgresConnection, _ value: T
        ) async throws -> T {
            let rows = try await connection.query("SELECT $1", value)
            return try rows[0].decode(0, as: T.self)
        }

        private func echoOptional<T: PostgresEncodable & PostgresDecodable>(
            _ connection: PostgresConnection, _ value: T?
        ) async throws -> T? {
            let rows = try await connection.query("SELECT $1", value)
            return try rows[0].decode(0, as: T?.self)
        }

        @Test func scalarsRoundTrip() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            #expect(try await echo(connection, "héllo 'quoted' \"double\" \\ back") == "héllo 'quoted' \"double\" \\ back")
            #expect(try await echo(connection, "") == "")
            #expect(try await echo(connection, Int.max) == Int.max)
            #expect(try await echo(connection, Int.min) == Int.min)
            #expect(try await echo(connection, Int64(-42)) == -42)
            #expect(try await echo(connection, Int32.min) == Int32.min)
            #expect(try await echo(connection, Int16.max) == Int16.max)
            #expect(try await echo(connection, true) == true)
            #expect(try await echo(connection, false) == false)
            #expect(try await echo(connection, 0.1) == 0.1)
            #expect(try await echo(connection, -1.5e-300) == -1.5e-300)
            #expect(try await echo(connection, Double.infinity) == .infinity)
            #expect(try await echo(connection, -Double.infinity) == -.infinity)
            #expect(try await echo(connection, Double.nan).isNaN)
            let id = UUID()
            #expect(try await echo(connection, id) == id)
            let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x22]
            #expect(try await echo(connection, bytes) == bytes)
            #expect(try await echo(connection, [UInt8]()) == [])
            let day = PostgresDate(year: 2026, month: 2, day: 28)
            #expect(try await echo(connection, day) == day)
            #expect(try await echo(connection, PostgresDate(year: 1, month: 1, day: 1)).description == "0001-01-01")
        }

        @Test func nullsRoundTrip() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            #expect(try await echoOptional(connection, String?.none) == nil)
            #expect(try await echoOptional(connection, Int?.none) == nil)
            #expect(try await echoOptional(connection, Int32?.none) == nil)
            #expect(try await echoOptional(connection, Bool?.none) == nil)
            #expect(try await echoOptional(connection, Double?.none) == nil)
            #expect(try await echoOptional(connection, Date?.none) == nil)
            #expect(try await echoOptional(connection, UUID?.none) == nil)
            #expect(try await echoOptional(connection, [UInt8]?.none) == nil)
            #expect(try await echoOptional(connection, PostgresDate?.none) == nil)
            #expect(try await echoOptional(connection, PostgresJSON?.none) == nil)
            #expect(try await echoOptional(connection, [String]?.none) == nil)
            #expect(try await echoOptional(connection, Optional("x")) == "x")

            // A NULL carries its type OID, so the server knows it is an int8.
            let typed = try await connection.query("SELECT pg_typeof($1)::text, $1 IS NULL", Int?.none)
            #expect(try typed[0].decode(0, as: String.self) == "bigint")
            #expect(try typed[0].decode(1, as: Bool.self))

            // An Optional passed through the array overload as a non-optional existential is NULL too.
            let boxed: any PostgresEncodable = String?.none
            let erased: [(any PostgresEncodable)?] = [boxed, nil]
            let rows = try await connection.query("SELECT $1 IS NULL, $2::int IS NULL", binds: erased)
            #expect(try rows[0].decode(0, as: Bool.self))
            #expect(try rows[0].decode(1, as: Bool.self))

            // A bare nil literal is an untyped NULL; the server infers its type from context.
            let mixed = try await connection.query("SELECT $1::int8 + 1, $2::text IS NULL", 1, nil)
            #expect(try mixed[0].decode(0, as: Int.self) == 2)
            #expect(try mixed[0].decode(1, as: Bool.self))
            #expect(try await connection.query("SELECT 1").count == 1)

            let row = rows[0]
            #expect(!row.isNull(0))
            let nullRow = try await connection.query("SELECT NULL::int8 AS n")[0]
            #expect(nullRow.isNull(0))
            #expect(throws: PostgresError.self) { try nullRow.decode(0, as: Int.self) }
            #expect(try nullRow.decode("n", as: Int?.self) == nil)
        }

        @Test func decodesByColumnName() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let rows = try await connection.query("SELECT 1::int4 AS one, 'two' AS \"Two\"")
            #expect(rows.columnNames == ["one", "Two"])
            #expect(rows[0].columnCount == 2)
            #expect(try rows[0].decode("one", as: Int32.self) == 1)
            #expect(try rows[0].decode("Two", as: String.self) == "two")
            #expect(throws: PostgresError.self) { try rows[0].decode("missing", as: String.self) }
        }

        @Test func timestampsAcrossOffsets() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            // 2026-11-29 01:34:22.123456 UTC
            let instant = Date(timeIntervalSince1970: 1_795_916_062.123456)
            #expect(instant.postgresText() == "2026-11-29 01:34:22.123456+00")
            #expect(try await echo(connection, instant).postgresText() == instant.postgresText())

            let whole = try await connection.query("SELECT '2026-01-01 00:00:00+00'::timestamptz")
            #expect(try whole[0].decode(0, as: Date.self) == Date(timeIntervalSince1970: 1_767_225_600))

            let old = Date(timeIntervalSince1970: -2_208_988_800.5)  // 1899-12-31 23:59:59.5 UTC
            #expect(try await echo(connection, old).postgresText() == old.postgresText())

            // The decoder must read whatever offset the session prints, not only "+00".
            for zone in ["Asia/Kolkata", "America/St_Johns", "Pacific/Chatham", "Europe/Amsterdam"] {
                try await connection.simpleQuery("SET TimeZone = '\(zone)'")
                let rows = try await connection.query("SELECT $1::timestamptz, $1::timestamptz::text", instant)
                let text = try rows[0].decode(1, as: String.self)
                #expect(!text.hasSuffix("+00"), "\(zone) printed \(text)")
                #expect(try rows[0].decode(0, as: Date.self).postgresText() == instant.postgresText())
            }
            // Local mean time offsets carry seconds.
            try await connection.simpleQuery("SET TimeZone = 'Europe/Amsterdam'")
            let lmt = try await connection.query(
                "SELECT '1900-01-01 00:00:00+00'::timestamptz, '1900-01-01 00:00:00+00'::timestamptz::text")
            #expect(try lmt[0].decode(1, as: String.self).filter { $0 == ":" }.count == 4)
            #expect(try lmt[0].decode(0, as: Date.self) == Date(timeIntervalSince1970: -2_208_988_800))
            try await connection.simpleQuery("SET TimeZone = 'UTC'")

            let bc = try await connection.query("SELECT '0044-03-15 12:00:00+00 BC'::timestamptz")
            let ides = try bc[0].decode(0, as: Date.self)
            #expect(ides.postgresText() == "0044-03-15 12:00:00.000000+00 BC")
            #expect(try await echo(connection, ides) == ides)

            let infinite = try await connection.query("SELECT 'infinity'::timestamptz, '-infinity'::timestamptz")
            #expect(try infinite[0].decode(0, as: Date.self) == .distantFuture)
            #expect(try infinite[0].decode(1, as: Date.self) == .distantPast)
        }

        @Test func jsonbRoundTrip() async throws {
            struct Payload: Codable, Equatable {
                var name: String
                var tags: [String]
            }
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let payload = Payload(name: "ünï \"x\"", tags: ["a", "b,c"])
            let json = try PostgresJSON(encoding: payload)
            let rows = try await connection.query("SELECT $1, $1->>'name', pg_typeof($1)::text", json)
            #expect(try rows[0].decode(0, as: PostgresJSON.self).decode(Payload.self) == payload)
            #expect(try rows[0].decode(1, as: String.self) == payload.name)
            #expect(try rows[0].decode(2, as: String.self) == "jsonb")
        }

        @Test func arraysWithTrickyStrings() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let tricky = [
                "plain", "", "NULL", "null", "with \"quotes\"", "back\\slash", "trailing\\", "comma,here", "{braces}",
                " padded ", "tab\tnew\nline", "ünïcødé 🚀", "'single'",
            ]
            let rows = try await connection.query("SELECT $1, cardinality($1), $1[3] IS NULL, pg_typeof($1)::text", tricky)
            #expect(try rows[0].decode(0, as: [String].self) == tricky)
            #expect(try rows[0].decode(1, as: Int32.self) == Int32(tricky.count))
            #expect(try rows[0].decode(2, as: Bool.self) == false)  // the string "NULL" is not NULL
            #expect(try rows[0].decode(3, as: String.self) == "text[]")

            let withNulls: [String?] = [nil, "NULL", nil, "", "x"]
            let nullRows = try await connection.query("SELECT $1, $1[1] IS NULL, $1[2] IS NULL", withNulls)
            #expect(try nullRows[0].decode(0, as: [String?].self) == withNulls)
            #expect(try nullRows[0].decode(1, as: Bool.self))
            #expect(try !nullRows[0].decode(2, as: Bool.self))
            #expect(throws: PostgresError.self) { try nullRows[0].decode(0, as: [String].self) }

            #expect(try await echo(connection, [String]()) == [])
        }

        @Test func arraysOfEveryElementType() async throws {
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            #expect(try await echo(connection, [1, -2, Int.max]) == [1, -2, Int.max])
            #expect(try await echo(connection, [Int64(5), Int64.min]) == [5, Int64.min])
            #expect(try await echo(connection, [Int32(7), Int32.max]) == [7, Int32.max])
            #expect(try await echo(connection, [true, false]) == [true, false])
            #expect(try await echo(connection, [1.5, -0.25]) == [1.5, -0.25])
            let dates = [Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_795_916_062.5)]
            #expect(try await echo(connection, dates).map { $0.postgresText() } == dates.map { $0.postgresText() })
            let ids = [UUID(), UUID()]
            #expect(try await echo(connection, ids) == ids)
            let days = [PostgresDate(year: 2026, month: 11, day: 29), PostgresDate(year: 1999, month: 12, day: 31)]
            #expect(try await echo(connection, days) == days)
            let documents = [PostgresJSON("{\"a\": [1, \"x,\\\"y\"]}"), PostgresJSON("null"), PostgresJSON("\"NULL\"")]
            let echoed = try await echo(connection, documents)
            #expect(echoed.count == 3)
            #expect(echoed[2].text == "\"NULL\"")
            #expect(try echoed[0].decode([String: [JSONValue]].self)["a"] == [.number(1), .string("x,\"y")])

            #expect(try await echo(connection, [1, nil, 3] as [Int?]) == [1, nil, 3])
            #expect(try await echo(connection, [nil, Int32(2)] as [Int32?]) == [nil, 2])
            #expect(try await echo(connection, [true, nil] as [Bool?]) == [true, nil])
            #expect(try await echo(connection, [nil, dates[1]] as [Date?]).map { $0?.postgresText() } == [nil, dates[1].postgresText()])
            #expect(try await echo(connection, [ids[0], nil] as [UUID?]) == [ids[0], nil])
            #expect(try await echo(connection, [nil, days[0]] as [PostgresDate?]) == [nil, days[0]])
            #expect(try await echo(connection, [documents[1], nil] as [PostgresJSON?]).map { $0?.text } == ["null", nil])

            let types = try await connection.query(
                "SELECT pg_typeof($1)::text, pg_typeof($2)::text, pg_typeof($3)::text, pg_typeof($4)::text, pg_typeof($5)::text, pg_typeof($6)::text, pg_typeof($7)::text, pg_typeof($8)::text",
                [1], [Int32(1)], [true], dates, ids, days, documents, [UInt8(1)])
            #expect(
                try (0..<8).map { try types[0].decode($0, as: String.self) } == [
                    "bigint[]", "integer[]", "boolean[]", "timestamp with time zone[]", "uuid[]", "date[]", "jsonb[]", "bytea",
                ])
        }
    }

    /// Just enough JSON to compare a decoded document.
    private enum JSONValue: Decodable, Equatable {
        case number(Double)
        case string(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }
    }
}
