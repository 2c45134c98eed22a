import Foundation
import PlanRouterCore
import PlanRouterMessaging
import PlanRouterStore
import Synchronization
import Testing

@testable import PlanRouterWorkers

/// A provider whose calls for chosen messages wait until the test lets them go; it accepts every message.
final class GatedProvider: ChannelAdapter {
    let senderKey = "gated"
    let ratePerSecond = 10_000.0
    private struct State {
        var held: Set<String>
        var calls: [String] = []
        var waiting: [String: CheckedContinuation<Void, Never>] = [:]
    }
    private let state: Mutex<State>

    init(holding held: Set<String>) { state = Mutex(State(held: held)) }

    /// Message ids of the calls made so far, in order.
    var calls: [String] { state.withLock { $0.calls } }

    func send(_ message: OutgoingMessage) async -> SendOutcome {
        await withCheckedContinuation { (go: CheckedContinuation<Void, Never>) in
            state.withLock { s in
                s.calls.append(message.messageID)
                if s.held.contains(message.messageID) { s.waiting[message.messageID] = go } else { go.resume() }
            }
        }
        return .accepted(providerID: "SM-\(message.messageID)")
    }

    func release(_ ids: Set<String>) {
        state.withLock { s in
            s.held.subtract(ids)
            for id in ids { s.waiting.removeValue(forKey: id)?.resume() }
        }
    }

    func findAccepted(_ message: OutgoingMessage, since: Date) async throws -> String? { nil }
}

/// The notify sender as a pipeline (claiming while calls are in flight) and its outcomes
/// recorded together.
@Suite struct NotifyPipelineTests {
    func sender(_ f: NotifyFixture, _ provider: GatedProvider, worker: String = "sender-pipeline") -> NotifySender {
        NotifySender(
            pool: f.pool, adapters: ChannelAdapters { _, _ in provider }, clock: f.anyClock,
            settings: NotifySettings(pollInterval: .milliseconds(20), concurrency: 4), workerID: worker, logger: testLogger)
    }

    /// Round at a time, a message that fell due while a slow call was in flight waited for it.
    @Test func aSlowProviderCallDoesNotHoldUpAMessageThatFallsDueMeanwhile() async throws {
        try await withNotifyFixture { f in
            try await f.plan("plan-1")
            try await f.plan("plan-2")
            let provider = GatedProvider(holding: ["msg-slow"])
            try await f.record([NotifyFixture.message("msg-slow", plan: "plan-1")])
            let sender = sender(f, provider)
            let running = Running { try await sender.run() }
            try await whileRunning([running]) {
                try await eventually("the slow call is in flight") { provider.calls == ["msg-slow"] }
                try await f.record([NotifyFixture.message("msg-next", plan: "plan-2")])
                try await eventually("the next message is sent") { try await f.delivery("msg-next").status == "sent" }
                #expect(try await f.delivery("msg-slow").status == "sending")
                provider.release(["msg-slow"])
                try await eventually("the slow message is sent") { try await f.delivery("msg-slow").status == "sent" }
            }
            #expect(provider.calls.sorted() == ["msg-next", "msg-slow"])
            #expect(sender.stats.count(channel: "sms", outcome: "sent") == 2)
        }
    }

    /// The answers of a round are settled in one statement, each only while the claim is still
    /// this sender's: one taken over after the lease meanwhile is left to the sender that has it.
    @Test func outcomesRecordedTogetherSettleOnlyClaimsStillTheSenders() async throws {
        try await withNotifyFixture { f in
            let ids = ["msg-a", "msg-b", "msg-c"]
            for (i, id) in ids.enumerated() {
                try await f.plan("plan-\(i)")
                try await f.record([NotifyFixture.message(id, plan: "plan-\(i)")])
            }
            let provider = GatedProvider(holding: Set(ids))
            let sender = sender(f, provider)
            let round = Task { try await sender.sendDue() }
            try await eventually("three calls in flight") { provider.calls.count == 3 }
            try await f.pool.withConnection { c in
                _ = try await c.execute("UPDATE message_deliveries SET leased_by = 'sender-other' WHERE message_id = 'msg-c'")
            }
            provider.release(Set(ids))
            #expect(try await round.value == 3)
            #expect(try await f.delivery("msg-a").status == "sent")
            #expect(try await f.delivery("msg-b").providerID == "SM-msg-b")
            #expect(try await f.delivery("msg-c").status == "sending")
            let facts = try await f.pool.withConnection { c in
                try await c.query("SELECT event_id FROM plan_events WHERE kind = 'message_sent' ORDER BY event_id").map {
                    try $0.decode(0, as: String.self)
                }
            }
            #expect(facts == ["msg-a", "msg-b"])
        }
    }
}
