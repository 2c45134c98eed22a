import Foundation

/// `application/x-www-form-urlencoded`, as Twilio's API takes its parameters and its
/// webhooks send theirs (names and values kept in order; a name may repeat).
public enum FormURLEncoding {
    /// Characters left as they are: RFC 3986 unreserved.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    public static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    /// Decodes a body or query; `+` is a space; a malformed escape is kept as written.
    public static func decode(_ body: String) -> [(String, String)] {
        body.split(separator: "&", omittingEmptySubsequences: true).map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = unescape(String(kv[0]))
            let value = kv.count > 1 ? unescape(String(kv[1])) : ""
            return (name, value)
        }
    }

    static func unescape(_ s: String) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
