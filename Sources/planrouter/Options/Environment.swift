import Foundation

/// Every option can also come from a `PLANROUTER_*` environment variable; the
/// command line wins. The names are listed in docs/configuration.md (checked by a test).
enum Environment {
    static func value(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }
}

/// A user-facing failure: printed as one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
