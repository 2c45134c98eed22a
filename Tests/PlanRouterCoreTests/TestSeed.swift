import Foundation
import PlanRouterCore
import Testing

/// The seed of a randomized test. `PLANROUTER_TEST_SEED` replays a run (any test that
/// failed names its seed in the failure message); without it a test takes its own
/// default, fixed or fresh per run.
struct TestSeed: CustomStringConvertible {
    static let variable = "PLANROUTER_TEST_SEED"

    let value: UInt64

    init(default fallback: @autoclosure () -> UInt64) {
        if let text = ProcessInfo.processInfo.environment[Self.variable], let seed = UInt64(text) {
            value = seed
        } else {
            value = fallback()
        }
    }

    /// A fresh seed per run, from the system's generator.
    static func fresh() -> UInt64 { UInt64.random(in: .min ... .max) }

    /// A generator for this seed (offset by `stream`, for several independent sequences).
    func generator(stream: UInt64 = 0) -> SplitMix64 { SplitMix64(seed: value &+ stream) }

    /// Added to every expectation of a randomized test, so a failure says how to replay it.
    var replay: Comment { Comment(rawValue: description) }

    var description: String { "replay with \(Self.variable)=\(value)" }

    /// Runs `body`; an error it throws is recorded with the seed, then passed on.
    func attempt<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            Issue.record(error, replay)
            throw error
        }
    }
}
