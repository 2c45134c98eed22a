import CLibPQ

/// Checks connection strings before libpq connects, and keeps passwords out of messages.
enum ConnInfo {
    /// Parses `conninfo` with `PQconninfoParse`, so malformed URIs fail fast with libpq's own
    /// explanation instead of a confusing connection error.
    static func validate(_ conninfo: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            var message = "invalid connection string"
            if let errorMessage {
                message = String(cString: errorMessage).trimmingWhitespace()
                PQfreemem(errorMessage)
            }
            throw PostgresError(code: .invalidConfiguration, message: redact(message, conninfo: conninfo))
        }
        PQconninfoFree(options)
    }

    /// Removes the password in `conninfo` from `message`. libpq does not print passwords on
    /// purpose, but its URI parser quotes malformed fragments, which may be part of one.
    static func redact(_ message: String, conninfo: String) -> String {
        guard let password = password(in: conninfo), !password.isEmpty else { return message }
        return message.replacingAll(password, with: "<redacted>")
    }

    /// A best-effort extraction that works on malformed input too (it is used for errors).
    private static func password(in conninfo: String) -> String? {
        if let scheme = conninfo.firstRange(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            guard let at = authority.lastIndex(of: "@") else { return nil }
            let userInfo = authority[..<at]
            guard let colon = userInfo.firstIndex(of: ":") else { return nil }
            return String(userInfo[userInfo.index(after: colon)...])
        }
        guard let key = conninfo.firstRange(of: "password") else { return nil }
        var rest = conninfo[key.upperBound...].drop { $0 == " " }
        guard rest.first == "=" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "'" {
            return String(rest.dropFirst().prefix { $0 != "'" })
        }
        return String(rest.prefix { $0 != " " })
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        return String(scalars)
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
