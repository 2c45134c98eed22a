/// Exponential backoff with full jitter for transient failures (PostgreSQL or broker down).
public struct Backoff: Sendable {
    var initial: Duration = .milliseconds(100)
    var maximum: Duration = .seconds(10)
    private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = maximum
    }

    public mutating func next() -> Duration {
        attempt += 1
        let factor = 1 << min(attempt - 1, 16)
        let ceiling = min(initial * factor, maximum)
        let ms = ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: (ms / 2)...max(ms / 2, ms)))
    }

    public mutating func reset() { attempt = 0 }
}
