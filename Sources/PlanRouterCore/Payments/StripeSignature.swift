import Crypto
import Foundation

/// Stripe's webhook signature (`Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`): each
/// `v1` is the hex HMAC-SHA256, keyed with the endpoint's signing secret (`whsec_…`), of
/// `"<t>.<raw body>"`. A request is genuine when any `v1` matches (Stripe sends several while
/// a secret is being rolled) and `t` is within the tolerance of now (300 s, Stripe's libraries'
/// default), which bounds replays; other schemes (`v0`) are ignored (docs.stripe.com/webhooks,
/// "Verify signatures manually"). The verifier and the dev emulator share this implementation.
public enum StripeSignature {
    public static let defaultTolerance: Int64 = 300

    public enum Failure: String, Error, Sendable {
        /// No `t=` or no `v1=` in the header.
        case malformedHeader = "malformed_header"
        /// `t` is further than the tolerance from now.
        case staleTimestamp = "stale_timestamp"
        /// No `v1` matches the body with this secret.
        case noMatchingSignature = "no_matching_signature"
    }

    /// The hex `v1` signature of `payload` at `timestamp`.
    public static func signature(payload: [UInt8], timestamp: Int64, secret: String) -> String {
        var signed = Array("\(timestamp).".utf8)
        signed.append(contentsOf: payload)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The whole header value Stripe would send.
    public static func header(payload: [UInt8], timestamp: Int64, secrets: [String]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + signature(payload: payload, timestamp: timestamp, secret: $0) }).joined(separator: ",")
    }

    /// Throws unless `header` carries a `v1` signature of `payload` with `secret`, timestamped within `tolerance` of `now`.
    public static func verify(
        header: String, payload: [UInt8], secret: String, now: Int64, tolerance: Int64 = defaultTolerance
    )
        throws(Failure)
    {
        var timestamp: Int64?
        var candidates: [String] = []
        for item in header.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "t" { timestamp = Int64(value) } else if key == "v1" { candidates.append(value) }
        }
        guard let timestamp, !candidates.isEmpty else { throw .malformedHeader }
        guard abs(now - timestamp) <= tolerance else { throw .staleTimestamp }
        let expected = Array(signature(payload: payload, timestamp: timestamp, secret: secret).utf8)
        // Every candidate is compared (no early exit), each in constant time.
        var matched = false
        for c in candidates where TwilioSignature.constantTimeEqual(expected, Array(c.lowercased().utf8)) { matched = true }
        guard matched else { throw .noMatchingSignature }
    }
}
