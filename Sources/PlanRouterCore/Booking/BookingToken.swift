import Crypto
import Foundation

/// The token in a patient's booking link: `<payload>.<signature>`, both base64url.
///
/// The payload binds the link to one offer of one case and carries its expiry; the
/// signature is HMAC-SHA256 with the deployment's secret. Verification is constant
/// time and every failure (forged, malformed, expired) is the same error, so a
/// caller can answer all of them alike and reveal nothing about whether a plan exists.
/// "Useless after booking" is enforced by the server, which refuses a used offer.
///
/// Each link has one purpose, signed into the payload's first field: a booking link (`v1`, names an
/// offer), a calendar link (`c1`, serves the case's booking as .ics) or a reschedule link (`r1`). A
/// link verified for one purpose is refused for every other.
public struct BookingToken: Sendable, Hashable {
    public enum Purpose: String, Sendable, Hashable, CaseIterable {
        case book = "v1"
        case calendar = "c1"
        case reschedule = "r1"
    }

    /// The offer of a booking link; 0 for the other purposes (they name the case).
    public var offerID: Int64
    public var organizationID: String
    public var planID: String
    public var expiresAt: Int64
    public var purpose: Purpose = .book

    public init(offerID: Int64, organizationID: String, planID: String, expiresAt: Int64, purpose: Purpose = .book) {
        self.purpose = purpose
        self.offerID = offerID
        self.organizationID = organizationID
        self.planID = planID
        self.expiresAt = expiresAt
    }

    public struct Invalid: Error, Sendable, Hashable {}

    public func sign(secret: BookingKey) -> String {
        let payload = Array("\(purpose.rawValue)|\(offerID)|\(expiresAt)|\(organizationID)|\(planID)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: secret.key)
        return Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
    }

    /// Verifies signature, purpose and expiry; throws `Invalid` for any failure.
    public static func verify(_ token: String, secret: BookingKey, now: Int64, purpose: Purpose = .book) throws(Invalid) -> BookingToken {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 600, parts.count == 2, let payload = Base64URL.decode(String(parts[0])),
            let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: secret.key)
        else { throw Invalid() }
        let fields = String(decoding: payload, as: UTF8.self).split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0] == purpose.rawValue, let offer = Int64(fields[1]), let exp = Int64(fields[2]), now < exp else {
            throw Invalid()
        }
        return BookingToken(offerID: offer, organizationID: String(fields[3]), planID: String(fields[4]), expiresAt: exp, purpose: purpose)
    }

    /// A key from the configured secret (any length; hashed to 256 bits).
    public static func key(fromSecret secret: String) -> BookingKey {
        BookingKey(key: SymmetricKey(data: SHA256.hash(data: Array(secret.utf8))))
    }
}

/// The HMAC key for booking tokens. `SymmetricKey` is immutable but not marked
/// Sendable by swift-crypto; this wrapper is the one place that vouches for it.
public struct BookingKey: @unchecked Sendable {
    // @unchecked: SymmetricKey is immutable, but swift-crypto does not mark it Sendable.
    let key: SymmetricKey
}

enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ s: String) -> [UInt8]? {
        guard s.utf8.allSatisfy({ $0.isBase64URL }) else { return nil }
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while t.count % 4 != 0 { t += "=" }
        return Data(base64Encoded: t).map(Array.init)
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || (0x30...0x39).contains(self) || self == 0x2D || self == 0x5F
    }
}
