/// Rejection reasons travel as `dlq.reason` headers (stored in PostgreSQL as jsonb, sent to
/// Kafka, read by people and log pipelines), so they must always be storable text of bounded
/// size, whatever bytes the rejected input carried (e.g. a property name containing NUL,
/// which jsonb refuses with 22P05).
public enum RejectionReason {
    /// The longest reason kept, in characters; longer ones end in `…`.
    public static let maximumLength = 2000

    /// `reason` with every control character (C0, DEL, C1) and line or paragraph separator
    /// written as `\uXXXX`, cut to `limit` characters. Idempotent: the escaped form has no
    /// control characters left to escape.
    public static func storable(_ reason: String, limit: Int = maximumLength) -> String {
        var out = String.UnicodeScalarView()
        for scalar in reason.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 {
                let hex = String(v, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        guard out.count > limit else { return String(out) }
        return String(String.UnicodeScalarView(out.prefix(max(limit - 1, 0)))) + "…"
    }
}
