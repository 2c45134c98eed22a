import Foundation
import PlanRouterCore
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// What `planrouter simulate` waits for and steps to on the notify side (SimulationMessagingRepository):
/// a text held for quiet hours is not "work owed" before its `send_after` on the simulated clock, it is the
/// simulator's next moment, and once the clock gets there it is owed until the notify worker has sent it.
@Suite struct SimulationQuietTests {
    @Test func aTextHeldForQuietHoursIsTheNextMomentAndIsOwedOnlyFromItsSendAfter() async throws {
        let start = RFC3339.parse("2026-11-03T04:00:00Z")!
        let morning = start.addingTimeInterval(4 * 3600)
        let clock = ManualClock(start)
        let f = try await NotifyFixture.start(clock: clock)
        try await f.plan("p1")
        try await f.record([NotifyFixture.message("m1", plan: "p1", sendAfter: morning)])
        func backlog(_ now: Date) async throws -> Int {
            try await f.pool.withConnection {
                try await SimulationMessagingRepository.backlog(
                    messagesTopic: "patient.messages", notifyConsumer: "notify", depositsTopic: "payments.deposit-requests",
                    paymentsConsumer: "payments", now: now, on: $0)
            }
        }
        func next(_ now: Date) async throws -> Date? {
            try await f.pool.withConnection { try await SimulationMessagingRepository.nextDue(after: now, on: $0) }
        }
        #expect(try await backlog(start) == 0)
        #expect(try await next(start) == morning)
        // Nothing goes out before the morning on the simulated clock.
        #expect(try await f.sender().sendDue() == 0)
        #expect(try await f.delivery("m1").status == "queued")

        clock.set(morning)
        #expect(try await backlog(morning) == 1)
        #expect(try await f.sender().sendDue() == 1)
        #expect(try await backlog(morning) == 0)
        #expect(try await next(morning) == nil)
        await f.close()
    }
}
