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

    /// CPU time (user + system) of this process's threads named `name`, in milliseconds;
    /// nil when no thread has that name or not on Linux. Thread names are the kernel's
    /// `comm` (librdkafka names its mock broker thread `rdk:mock`).
    static func threadCPUMilliseconds(named name: String) -> Int? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return nil }
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        guard ticksPerSecond > 0 else { return nil }
        var ticks = 0
        var found = false
        for task in tasks {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
                let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After the name in parentheses: state is field 3, utime 14 and stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            ticks += user + system
            found = true
        }
        return found ? ticks * 1000 / ticksPerSecond : nil
    }
}
