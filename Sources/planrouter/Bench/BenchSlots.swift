import ArgumentParser
import Foundation
import PlanRouterCore

struct BenchSlots: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slots",
        abstract: "In-memory slot search latency on a synthetic location (10 providers, 8 operatories, 90 days, 60% booked)."
    )

    @Option(help: "Number of searches to run.")
    var searches: Int = 10_000

    @Option(help: "Seed for the synthetic calendar and the requests.")
    var seed: UInt64 = 42

    @Option(help: "Unmeasured searches run first (first-call costs: allocator, time zone data).")
    var warmup: Int = 100

    func run() async throws {
        let zone = TimeZone(identifier: "America/New_York")!
        let start: Int64 = 1_772_342_400  // 2026-03-01 00:00 UTC: the 90 days include the spring DST change
        let buildStart = ContinuousClock.now
        let calendar = SyntheticCalendar.make(
            providers: 10, operatories: 8, days: 90, bookedFraction: 0.6, start: start, timeZone: zone, seed: seed)
        let buildTime = ContinuousClock.now - buildStart
        var rng = SplitMix64(seed: seed &+ 1)
        let roles = ["dentist", "hygienist", "injector"]
        let horizon = start + 90 * 86_400
        let requests: [SlotRequest] = (0..<max(searches, 1)).map { _ in
            let byProvider = rng.next() % 2 == 0
            let duration = 30 + 10 * Int(rng.next() % 13)  // 30...150
            let earliest = start + Int64(rng.next() % UInt64(30 * 86_400 / 60)) * 60
            var r = SlotRequest(
                providerID: byProvider ? calendar.providers[Int(rng.next() % UInt64(calendar.providers.count))].providerID : nil,
                providerRole: byProvider ? nil : roles[Int(rng.next() % 3)],
                durationMinutes: duration, earliest: earliest, latest: horizon)
            switch rng.next() % 8 {
            case 0: r.timesOfDay = [.afternoon]
            case 1: r.weekdays = [2, 4]
            case 2: r.allowedBlockoutKinds = ["crown_only"]
            case 3: r.spreadOverDays = false
            default: break
            }
            return r
        }

        for r in requests.prefix(warmup) { _ = SlotSearch.find(r, in: calendar) }
        var micros: [Double] = []
        micros.reserveCapacity(requests.count)
        var found = 0
        let clock = ContinuousClock()
        let total = clock.now
        for r in requests {
            let t0 = clock.now
            let openings = SlotSearch.find(r, in: calendar)
            let elapsed = clock.now - t0
            found += openings.count
            let c = elapsed.components
            micros.append(Double(c.seconds) * 1e6 + Double(c.attoseconds) / 1e12)
        }
        let wall = clock.now - total
        micros.sort()
        func pct(_ p: Double) -> Double { micros[min(micros.count - 1, Int((Double(micros.count) * p).rounded(.up)) - 1)] }
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        benchPrint("calendar built in \(buildTime); \(calendar.providers.reduce(0) { $0 + $1.busy.count }) provider busy ranges")
        benchPrint(
            "searches: \(micros.count), openings found: \(found) (avg \(String(format: "%.2f", Double(found) / Double(micros.count))))")
        benchPrint(String(format: "p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us", pct(0.5), pct(0.9), pct(0.99), micros.last!))
        benchPrint(String(format: "%.0f searches/s", Double(micros.count) / wallSeconds))
    }
}
