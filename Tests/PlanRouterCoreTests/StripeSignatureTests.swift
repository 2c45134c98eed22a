import Foundation
import PlanRouterCore
import Testing

/// `Stripe-Signature` as Stripe documents it (docs.stripe.com/webhooks, "Verify signatures manually"):
/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.<raw body>" with the endpoint secret>`, any `v1` may match,
/// 300 s tolerance.
@Suite struct StripeSignatureTests {
    static let body = Array(#"{"id":"evt_1","type":"checkout.session.completed"}"#.utf8)
    static let t: Int64 = 1_700_000_000

    @Test func theSignatureIsHexHMACSHA256OfTimestampDotBody() {
        // Computed independently: python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test", b"1700000000.<body>", hashlib.sha256).hexdigest())'
        #expect(
            StripeSignature.signature(payload: Self.body, timestamp: Self.t, secret: "whsec_test")
                == "749721cbedbfa4cc1aa6c9c2bec1edd93766a07906c9d9b3dbc7626e4e660caf")
    }

    @Test func aValidSignatureVerifies() throws {
        let header = StripeSignature.header(payload: Self.body, timestamp: Self.t, secrets: ["whsec_test"])
        #expect(header == "t=1700000000,v1=749721cbedbfa4cc1aa6c9c2bec1edd93766a07906c9d9b3dbc7626e4e660caf")
        try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t + 299)
    }

    @Test func aTamperedBodyIsRefused() {
        let header = StripeSignature.header(payload: Self.body, timestamp: Self.t, secrets: ["whsec_test"])
        var tampered = Self.body
        tampered[tampered.count - 3] = UInt8(ascii: "X")
        #expect(throws: StripeSignature.Failure.noMatchingSignature) {
            try StripeSignature.verify(header: header, payload: tampered, secret: "whsec_test", now: Self.t)
        }
    }

    @Test func aStaleOrFutureTimestampIsRefusedEvenWhenTheSignatureMatches() {
        let header = StripeSignature.header(payload: Self.body, timestamp: Self.t, secrets: ["whsec_test"])
        #expect(throws: StripeSignature.Failure.staleTimestamp) {
            try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t + 301)
        }
        #expect(throws: StripeSignature.Failure.staleTimestamp) {
            try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t - 301)
        }
    }

    @Test func anotherSecretsSignatureIsRefused() {
        let header = StripeSignature.header(payload: Self.body, timestamp: Self.t, secrets: ["whsec_other"])
        #expect(throws: StripeSignature.Failure.noMatchingSignature) {
            try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t)
        }
    }

    @Test func anyOfSeveralV1SignaturesMayMatchAndOtherSchemesAreIgnored() throws {
        // While a secret is rolled Stripe signs with both; v0 (test-mode legacy) is not a v1 signature.
        let good = StripeSignature.signature(payload: Self.body, timestamp: Self.t, secret: "whsec_test")
        let header = "t=\(Self.t),v1=\(String(repeating: "0", count: 64)),v0=\(good),v1=\(good)"
        try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t)
        // A v0 alone is no v1 signature at all.
        #expect(throws: StripeSignature.Failure.malformedHeader) {
            try StripeSignature.verify(header: "t=\(Self.t),v0=\(good)", payload: Self.body, secret: "whsec_test", now: Self.t)
        }
    }

    @Test func aHeaderWithoutTimestampOrV1IsMalformed() {
        let good = StripeSignature.signature(payload: Self.body, timestamp: Self.t, secret: "whsec_test")
        for header in ["", "v1=\(good)", "t=\(Self.t)", "t=abc,v1=\(good)"] {
            #expect(throws: StripeSignature.Failure.malformedHeader) {
                try StripeSignature.verify(header: header, payload: Self.body, secret: "whsec_test", now: Self.t)
            }
        }
    }
}
