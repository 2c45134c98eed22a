import Foundation
import PlanRouterPostgres

/// One pass of `planrouter retention prune` (also run by `bench pipeline --prune-history`): every
/// prunable table in chunks of `batch`, with progress. OperationalRetentionRepository says what
/// goes and what always stays.
public struct OperationalRetention: Sendable {
    public var inboxDays: Int
    public var holdsDays: Int
    public var timersDays: Int
    public var batch: Int

    public init(inboxDays: Int = 45, holdsDays: Int = 30, timersDays: Int = 30, batch: Int = 10_000) {
        self.inboxDays = inboxDays
        self.holdsDays = holdsDays
        self.timersDays = timersDays
        self.batch = batch
    }

    public struct Pruned: Sendable, Equatable {
        public var inbox = 0, holds = 0, blockouts = 0, timers = 0, nexhealthDeliveries = 0
        public var total: Int { inbox + holds + blockouts + timers + nexhealthDeliveries }
    }

    public func run(now: Date, on conn: PostgresConnection, progress: (String) -> Void) async throws -> Pruned {
        typealias R = OperationalRetentionRepository
        func before(_ days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }
        var p = Pruned()
        p.inbox = try await untilShort("inbox ids", progress) {
            try await R.pruneInbox(receivedBefore: before(inboxDays), limit: batch, on: conn)
        }
        p.holds = try await byIDs(.reservations, "released holds", conn, progress) {
            try await R.pruneReleasedHolds(ids: $0, releasedBefore: before(holdsDays), on: conn)
        }
        p.blockouts = try await untilShort("removed hold blockouts", progress) {
            try await R.pruneRemovedHoldBlockouts(before: before(holdsDays), limit: batch, on: conn)
        }
        p.timers = try await byIDs(.timers, "finished timers", conn, progress) {
            try await R.pruneFinishedTimers(ids: $0, createdBefore: before(timersDays), on: conn)
        }
        p.nexhealthDeliveries = try await byIDs(.nexhealthDeliveries, "processed NexHealth deliveries", conn, progress) {
            try await R.pruneProcessedNexHealthDeliveries(ids: $0, before: before(inboxDays), on: conn)
        }
        return p
    }

    /// Repeats a bounded delete until it removes fewer than a batch.
    func untilShort(_ what: String, _ progress: (String) -> Void, _ chunk: () async throws -> Int) async throws -> Int {
        var total = 0
        while true {
            let n = try await chunk()
            total += n
            if n > 0 { progress("\(what): \(total) so far") }
            if n < batch { return total }
        }
    }

    /// Walks the table's primary key in ranges of `batch` ids (progress at most once a second).
    func byIDs(
        _ table: OperationalRetentionRepository.PrunableTable, _ what: String, _ conn: PostgresConnection, _ progress: (String) -> Void,
        _ chunk: (ClosedRange<Int64>) async throws -> Int
    ) async throws -> Int {
        guard let bounds = try await OperationalRetentionRepository.idBounds(of: table, on: conn) else { return 0 }
        var total = 0
        var lo = bounds.lowerBound
        var lastReport = ContinuousClock.now
        while lo <= bounds.upperBound {
            let hi = min(bounds.upperBound, lo + Int64(batch) - 1)
            total += try await chunk(lo...hi)
            lo = hi + 1
            if ContinuousClock.now - lastReport > .seconds(1) {
                lastReport = ContinuousClock.now
                progress("\(what): \(total) so far (ids to \(hi) of \(bounds.upperBound))")
            }
        }
        return total
    }
}
