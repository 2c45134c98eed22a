import Foundation
import PlanRouterTestSupport
import Testing

/// The runner every CLI test relies on: exit codes, signals, stdin, output larger than
/// a pipe's buffer, and a deadline that kills.
@Suite struct ChildProcessTests {
    let env = ["PATH": "/usr/bin:/bin"]

    @Test func exitCodesAndStreamsComeBackApart() async throws {
        let r = try await ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], environment: env, timeout: .seconds(30))
        #expect(r.status == 3 && r.stdout == "out\n" && r.stderr == "err\n" && !r.timedOut)
    }

    @Test func stdinReachesTheChildAndLargeOutputIsReadWhileItRuns() async throws {
        let r = try await ChildProcess.run(
            "/bin/sh", ["-c", "cat; head -c 1000000 /dev/zero"], environment: env, stdin: "hello", timeout: .seconds(300))
        #expect(r.status == 0 && !r.timedOut)
        #expect(r.stdout.utf8.count == 1_000_005 && r.stdout.hasPrefix("hello"))
    }

    @Test func aSignalIsReportedAs128PlusItsNumber() async throws {
        let r = try await ChildProcess.run("/bin/sh", ["-c", "kill -TERM $$"], environment: env, timeout: .seconds(30))
        #expect(r.status == 128 + 15)
    }

    @Test func theChildInheritsNoDescriptorBeyondItsStandardThree() async throws {
        let r = try await ChildProcess.run("/bin/sh", ["-c", "ls /proc/self/fd"], environment: env, timeout: .seconds(30))
        // 0, 1, 2 and the descriptor `ls` opens to read the directory.
        #expect(r.stdout.split(separator: "\n").count <= 4, "open: \(r.stdout)")
    }

    /// Killed, not waited for: a `sleep 600` left alone would exit 0 ten minutes later. (No
    /// bound on the elapsed time: under the full parallel run the test's own task can wait
    /// seconds for a thread.)
    @Test func aChildStillRunningAtTheDeadlineIsKilled() async throws {
        let r = try await ChildProcess.run("/bin/sleep", ["600"], environment: env, timeout: .milliseconds(200))
        #expect(r.timedOut && r.status == 128 + 9)
    }
}
