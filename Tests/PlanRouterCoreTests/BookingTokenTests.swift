import PlanRouterCore
import Testing

@Suite struct BookingTokenTests {
    let key = BookingToken.key(fromSecret: "test-secret")
    let token = BookingToken(offerID: 42, organizationID: "org-1", planID: "plan-9", expiresAt: 2_000)

    @Test func roundTrip() throws {
        #expect(try BookingToken.verify(token.sign(secret: key), secret: key, now: 1_999) == token)
    }

    @Test func expiredTamperedAndForgedAreRejectedAlike() {
        let signed = token.sign(secret: key)
        #expect(throws: BookingToken.Invalid.self) { try BookingToken.verify(signed, secret: key, now: 2_000) }
        var chars = Array(signed)
        chars[3] = chars[3] == "A" ? "B" : "A"
        #expect(throws: BookingToken.Invalid.self) { try BookingToken.verify(String(chars), secret: key, now: 0) }
        let other = BookingToken.key(fromSecret: "attacker")
        #expect(throws: BookingToken.Invalid.self) { try BookingToken.verify(token.sign(secret: other), secret: key, now: 0) }
        for junk in ["", ".", "abc", "a.b.c", String(repeating: "x", count: 5000)] {
            #expect(throws: BookingToken.Invalid.self) { try BookingToken.verify(junk, secret: key, now: 0) }
        }
    }
}
