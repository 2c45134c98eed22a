import Hummingbird
import PlanRouterHTTP
import Testing

@Suite struct HTTPLimitsTests {
    @Test func theConnectionCapStopsAcceptingAtTheMaximumAndResumesBelowIt() {
        var cap = ConnectionCap(maximum: 3)
        for _ in 0..<3 {
            #expect(cap.isAcceptingNewConnections())
            cap.connectionOpened()
        }
        #expect(!cap.isAcceptingNewConnections())
        cap.connectionClosed()
        #expect(cap.isAcceptingNewConnections())
    }

    @Test func mediaTypesAreReadFromTheirEssence() {
        func media(_ value: String?) -> RequestMediaType {
            var head = HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/")
            if let value { head.headerFields[.contentType] = value }
            return RequestMediaType(Request(head: head, body: .init(buffer: ByteBuffer())))
        }
        #expect(media("application/json") == .json)
        #expect(media("Application/JSON; charset=utf-8") == .json)
        #expect(media("application/x-www-form-urlencoded") == .form)
        #expect(media("text/plain") == .other)
        #expect(media("application/jsonx") == .other)
        #expect(media(nil) == .missing)
    }

    @Test func formFieldsDecodeAndTheFirstOfARepeatedNameWins() {
        let f = FormFields.parse("login=anna%40example.org&password=correct+horse&login=other&empty=&junk")
        #expect(f["login"] == "anna@example.org")
        #expect(f["password"] == "correct horse")
        #expect(f["empty"] == "")
        #expect(f["junk"] == nil)
    }
}
