import Foundation
import PlanRouterPostgres
import Testing

/// Parsing the server's text output, without a server.
@Suite("Postgres text decoding")
struct PostgresTextDecodingTests {
    @Test func timestampParserAcceptsISOVariants() throws {
        let expected = Date(timeIntervalSince1970: 1_795_916_062.123456).postgresText()
        for text in [
            "2026-11-29 01:34:22.123456+00", "2026-11-29T01:34:22.123456Z", "2026-11-29 07:04:22.123456+05:30",
            "2026-11-28 22:04:22.123456-03:30", "2026-11-29 01:34:22.123456", "2026-11-29 07:04:22.123456+0530",
        ] {
            #expect(try Date(postgresText: text).postgresText() == expected, "\(text)")
        }
        #expect(try Date(postgresText: "2026-11-29 01:34:22.1+00").postgresText() == "2026-11-29 01:34:22.100000+00")
        #expect(try Date(postgresText: "2026-11-29 01:34:22.123456789+00").postgresText() == expected)
        #expect(try Date(postgresText: "10000-01-01 00:00:00+00").postgresText() == "10000-01-01 00:00:00.000000+00")
        #expect(throws: PostgresError.self) { try Date(postgresText: "2026-11-29") }
        #expect(throws: PostgresError.self) { try Date(postgresText: "29/11/2026 01:34") }
    }

    @Test func arrayDecoderReadsServerSpellings() throws {
        #expect(try [String?](postgresText: "{a,\"b c\",NULL,\"NULL\",\"\"}") == ["a", "b c", nil, "NULL", ""])
        #expect(try [Int](postgresText: "[0:2]={1,2,3}") == [1, 2, 3])
        #expect(try [String](postgresText: "{}") == [])
        #expect(throws: PostgresError.self) { try [Int](postgresText: "{{1,2},{3,4}}") }
        #expect(throws: PostgresError.self) { try [Int](postgresText: "{1,2") }
    }
}
