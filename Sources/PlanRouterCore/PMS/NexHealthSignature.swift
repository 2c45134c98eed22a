import Crypto
import Foundation

/// NexHealth's webhook signature as this project implements it (docs/connectors.md, "verified
/// vs assumed"): the endpoint's `secret_key` keys an HMAC-SHA256 over
/// `"{timestamp}.{base64 of the raw body}"`; the hex digest comes in the `signature` header and
/// the timestamp (Unix seconds) in `timestamp`. The webhook and the dev emulator share this one
/// implementation; the emulator is not evidence that NexHealth signs this way.
public enum NexHealthSignature {
    public static let signatureHeader = "signature"
    public static let timestampHeader = "timestamp"

    public static func sign(body: [UInt8], timestamp: String, secret: String) -> String {
        let signed = timestamp + "." + Data(body).base64EncodedString()
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signed.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    public enum Verdict: Sendable, Equatable {
        case valid
        /// No signature or timestamp header, or a timestamp that is not Unix seconds.
        case missing
        /// The digest does not match: another secret, or a body or timestamp changed on the way.
        case mismatch
        /// Signed too long ago (or in the future) for `tolerance`: a replay of a captured delivery.
        case stale
    }

    /// Checks the signature in constant time, then the timestamp's age against `now`.
    public static func verify(
        body: [UInt8], signature: String?, timestamp: String?, secret: String, now: Date, tolerance: Duration
    ) -> Verdict {
        guard let signature, let timestamp, let seconds = Int64(timestamp.trimmingCharacters(in: .whitespaces)) else { return .missing }
        let expected = sign(body: body, timestamp: timestamp.trimmingCharacters(in: .whitespaces), secret: secret)
        guard
            TwilioSignature.constantTimeEqual(
                Array(expected.utf8), Array(signature.trimmingCharacters(in: .whitespaces).lowercased().utf8))
        else { return .mismatch }
        let age = now.timeIntervalSince1970 - Double(seconds)
        return abs(age) <= Double(tolerance.components.seconds) ? .valid : .stale
    }

    /// The delivery's dedupe key: a digest of the body (NexHealth's retries resend the same body).
    public static func deliveryKey(body: [UInt8]) -> String {
        SHA256.hash(data: Data(body)).map { String(format: "%02x", $0) }.joined()
    }
}
