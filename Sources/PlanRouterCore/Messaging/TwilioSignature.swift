import Crypto
import Foundation

/// Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the
/// account's auth token, over the full URL Twilio called followed by every POST parameter's
/// name and value, sorted by name, with no separators (twilio.com/docs/usage/security).
/// The verifier and the dev emulator share this one implementation.
public enum TwilioSignature {
    public static func sign(url: String, parameters: [(String, String)], authToken: String) -> String {
        // Byte order (Unix-style, case-sensitive), as Twilio's helper libraries sort.
        let sorted = parameters.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        var data = url
        for (name, value) in sorted { data += name + value }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Whether `signature` is the one Twilio would send; compares in constant time.
    public static func isValid(signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        constantTimeEqual(Array(sign(url: url, parameters: parameters, authToken: authToken).utf8), Array(signature.utf8))
    }

    /// Equal lengths and bytes, in time that depends only on the lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
