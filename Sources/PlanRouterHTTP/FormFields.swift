import Foundation

/// `application/x-www-form-urlencoded` fields (the first of a repeated name wins).
public enum FormFields {
    public static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, let name = decode(kv[0]), fields[name] == nil, let value = decode(kv[1]) else { continue }
            fields[name] = value
        }
        return fields
    }

    static func decode(_ s: Substring) -> String? { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
}
