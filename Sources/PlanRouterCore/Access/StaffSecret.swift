import Crypto
import Foundation

/// A high-entropy staff secret: an API key (`prk_…`) or a session cookie value (`prs_…`).
///
/// 32 random bytes from the system's CSPRNG, base64url after a prefix that says what it is (so a
/// leaked key is recognisable in a scanner). Only the SHA-256 of the whole text is stored: with
/// 256 bits of entropy a fast hash is as safe as a slow one, and lookups stay one index probe.
public struct StaffSecret: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case apiKey = "prk_"
        case session = "prs_"
    }

    /// The text handed out once (a key) or set in the cookie (a session).
    public let text: String

    public init(text: String) { self.text = text }

    public static func generate(_ kind: Kind) -> StaffSecret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return StaffSecret(text: kind.rawValue + Base64URL.encode(bytes))
    }

    /// Whether the text has the shape of a secret of this kind (checked before any lookup, so
    /// junk never reaches the database).
    public func looks(like kind: Kind) -> Bool {
        text.hasPrefix(kind.rawValue) && text.utf8.count == kind.rawValue.utf8.count + 43
            && Base64URL.decode(String(text.dropFirst(kind.rawValue.count)))?.count == 32
    }

    /// What the database stores and looks up.
    public var sha256: [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

    /// A random token for a form's hidden CSRF field (not a stored secret: kept with the session).
    public static func csrfToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Compares two tokens in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
