import Foundation

/// Fields of this process's `/proc/self/status` (Linux), for the bench commands' memory figures.
enum ProcessStatus {
    /// A field's value as the kernel writes it (`"52312 kB"`); nil when absent or not on Linux.
    static func field(_ name: String) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    /// A memory field (`VmRSS`, `RssAnon`, …) in bytes.
    static func bytes(_ name: String) -> Int? {
        field(name).flatMap { $0.split(separator: " ").first }.flatMap { Int($0) }.map { $0 * 1024 }
    }
}
