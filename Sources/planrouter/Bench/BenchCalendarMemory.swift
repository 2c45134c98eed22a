import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterWorkers

/// What a cached calendar really costs against what the offer worker's cache budget counts
/// (`LocationCalendar.estimatedBytes`): builds many synthetic calendars, keeps them all, and
/// divides the anonymous resident memory they added by their number. The cache's budget is only
/// a bound on the worker's memory if the estimate does not undercount (docs/benchmarks.md,
/// "Scale in locations").
struct BenchCalendarMemory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar-memory",
        abstract: "Resident memory per in-memory calendar against the cache's estimate of it."
    )

    @Option(help: "Calendars to build and keep.")
    var calendars: Int = 5_000

    @Option(help: "Providers per location.")
    var providers: Int = 2

    @Option(help: "Operatories per location (0: blocks and appointments name none).")
    var operatories: Int = 3

    @Option(help: "Days of schedule per calendar (the offer worker loads three weeks first, 90 days when it must).")
    var days: Int = 21

    @Option(help: "Share of scheduled time already booked.")
    var booked: Double = 0.3

    @Option(help: "Openings held in each calendar after it is built, as the offer worker holds them (reserve).")
    var holds: Int = 0

    func run() async throws {
        guard calendars > 0, providers > 0, days > 0 else { throw ValidationError("--calendars, --providers and --days must be positive") }
        let zone = TimeZone(identifier: "America/New_York")!
        let start: Int64 = 1_772_342_400  // 2026-03-01 00:00 UTC
        HeapTrim.returnFreePages()
        let before = try Self.anonymousResidentBytes()
        var kept: [LocationCalendar] = []
        kept.reserveCapacity(calendars)
        var estimated = 0
        for n in 0..<calendars {
            var c = SyntheticCalendar.make(
                providers: providers, operatories: operatories, days: days, bookedFraction: booked, start: start, timeZone: zone,
                seed: UInt64(n))
            if holds > 0 {
                let request = SlotRequest(
                    providerRole: "dentist", durationMinutes: 30, earliest: start, latest: start + Int64(days) * 86_400, count: holds,
                    spreadOverDays: false)
                for opening in SlotSearch.find(request, in: c) { c.reserve(opening) }
            }
            estimated += c.estimatedBytes
            kept.append(c)
        }
        HeapTrim.returnFreePages()
        let added = try Self.anonymousResidentBytes() - before
        let perCalendar = Double(added) / Double(calendars)
        let perEstimate = Double(estimated) / Double(calendars)
        let blocks = kept.reduce(0) { $0 + $1.providers.reduce(0) { $0 + $1.blocks.count } }
        let busy = kept.reduce(0) { $0 + $1.providers.reduce(0) { $0 + $1.busy.count } }
        benchPrint(
            "\(calendars) calendars of \(providers) providers × \(days) days (\(operatories) operatories, \(Int(booked * 100))% booked, \(holds) held): "
                + "\(blocks / calendars) blocks and \(busy / calendars) busy ranges each")
        benchPrint(String(format: "resident: %.0f bytes a calendar (%.1f MB in all)", perCalendar, Double(added) / 1_048_576))
        benchPrint(String(format: "estimate: %.0f bytes a calendar (estimate / resident = %.2f)", perEstimate, perEstimate / perCalendar))
        benchPrint(
            String(
                format: "the default %d MiB budget holds %.0f such calendars by the estimate, %.1f MB resident",
                OfferSettings.defaultCalendarCacheMB, Double(OfferSettings.defaultCalendarCacheMB << 20) / perEstimate,
                Double(OfferSettings.defaultCalendarCacheMB << 20) / perEstimate * perCalendar / 1_048_576))
        withExtendedLifetime(kept) {}
    }

    /// RssAnon of this process: its heap and stacks, not the code pages it maps.
    static func anonymousResidentBytes() throws -> Int {
        guard let bytes = ProcessStatus.bytes("RssAnon") else { throw ValidationError("no RssAnon in /proc/self/status (Linux only)") }
        return bytes
    }
}
