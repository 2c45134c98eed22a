import Foundation
import Synchronization

/// Where every component takes "now" from. Production uses `WallClock`; the
/// simulation runs workers on a clock it advances, so a month of escalations
/// plays out in minutes through the same code paths.
public protocol PlanRouterClock: Sendable {
    func now() async throws -> Date
}

/// The system clock. The only place in the code base that reads it.
public struct WallClock: PlanRouterClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock whose time is set by hand; for unit tests and in-process simulation.
public final class ManualClock: PlanRouterClock {
    private let current: Mutex<Date>
    public init(_ start: Date) { current = Mutex(start) }
    public func now() -> Date { current.withLock { $0 } }
    public func set(_ date: Date) { current.withLock { $0 = date } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}
