import Foundation
import PlanRouterCore
import Testing

@Suite struct JSONTests {
    @Test func roundTrip() throws {
        let text = #"{"a":[1,-2,3.5,true,false,null],"b":"q\"uo\\te\n\u00e9 😀","c":{}}"#
        let v = try JSONParser.parse(text)
        #expect(try JSONParser.parse(v.serialized()) == v)
        #expect(v["b"]?.stringValue == "q\"uo\\te\né 😀")
        #expect(v["a"]?.arrayValue?[0] == .int(1))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "{\"a\":1,\"a\":2}", "nul", "1 2", "\"\\ud800\""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func rejectsDeepNesting() {
        #expect(throws: JSONParseError.self) {
            try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        }
    }
}

@Suite struct RFC3339Tests {
    @Test func parsesOffsetsAndFractions() {
        let a = RFC3339.parse("2026-11-29T09:30:00-05:00")
        let b = RFC3339.parse("2026-11-29T14:30:00Z")
        #expect(a != nil && a == b)
        #expect(RFC3339.parse("2026-11-29T14:30:00.250Z")!.timeIntervalSince(b!) == 0.25)
        #expect(RFC3339.parse("2024-02-29T00:00:00+00:00") != nil)
    }

    @Test(arguments: ["2026-11-29T09:30:00", "2026-02-30T00:00:00Z", "2026-11-29 9:30:00Z", "yesterday", "2026-11-29T24:00:00Z"])
    func rejects(_ s: String) { #expect(RFC3339.parse(s) == nil) }

    @Test func formatsRoundTrip() {
        let d = Date(timeIntervalSince1970: 1_795_000_000.5)
        #expect(RFC3339.parse(RFC3339.format(d)) == d)
        let ny = TimeZone(identifier: "America/New_York")!
        #expect(RFC3339.format(RFC3339.parse("2026-07-01T12:00:00Z")!, in: ny) == "2026-07-01T08:00:00-04:00")
        #expect(RFC3339.format(RFC3339.parse("2026-12-01T12:00:00Z")!, in: ny) == "2026-12-01T07:00:00-05:00")
    }
}
