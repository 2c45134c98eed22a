import Foundation
import Hummingbird
import PlanRouterBooking
import PlanRouterCore
import PlanRouterDevComms
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Deposits over real sockets: PostgreSQL and the mock broker (`PipelineHarness`), the booking
/// fixture's case `p1` (three held openings, offer deposit $500) classified in `tier`, our Stripe
/// webhook on an HTTP port of its own, and the Stripe emulator on another, calling it.
final class DepositFixture: Sendable {
    static let secretKey = "sk_test_fixture"
    static let webhookSecret = "whsec_fixture"

    let harness: PipelineHarness
    let booking: BookingFixture
    let emulator: StripeEmulator
    let configuration: MessagingConfiguration
    let webhooks: StripeWebhooks
    private let servers: [Running]

    var pool: PostgresPool { harness.pool }
    var clock: ManualClock { booking.clock }

    static func start(tier: String) async throws -> DepositFixture {
        let harness = try await PipelineHarness(partitions: 1)
        let booking = try await BookingFixture(pool: harness.pool)
        try await booking.pool.withConnection { c in
            _ = try await c.execute(
                """
                INSERT INTO classifications (organization_id, plan_id, location_id, tier, path, chair_minutes, value_cents, deposit_cents,
                    first_offer_sla_seconds, hold_window_seconds, rules_version, reasons, accepted_at, classified_at)
                VALUES ('org-1', 'p1', 'loc-12', $1, 'self_book', 90, 135000, 50000, 900, 172800, 0, '{}', $2, $2)
                """, tier, BookingFixture.now.addingTimeInterval(-3600))
        }
        // The webhook's address is known before the emulator that calls it starts.
        let webhookPort = try NotifyFixture.freePort()
        let emulatorPort = try NotifyFixture.freePort()
        let clock = booking.clock
        let emulator = StripeEmulator(
            settings: StripeEmulatorSettings(
                secretKey: secretKey, webhookSecret: webhookSecret, webhookURL: "http://127.0.0.1:\(webhookPort)\(StripeWebhooks.path)",
                publicBaseURL: "http://127.0.0.1:\(emulatorPort)", retryDelays: [.milliseconds(50), .milliseconds(100)],
                now: { clock.now() }),
            logger: testLogger)
        let configuration = MessagingConfiguration(organizations: [
            "org-1": .init(
                practiceName: "Smile Dental", practicePhone: "+15555550100",
                payments: .init(
                    secretKey: secretKey, webhookSecret: webhookSecret, apiBaseURL: "http://127.0.0.1:\(emulatorPort)",
                    successURL: "https://book.example.com/paid", cancelURL: "https://book.example.com/cancelled"))
        ])
        let webhooks = StripeWebhooks(service: booking.service, configuration: configuration)
        let webhookServer = try await NotifyFixture.serve(port: webhookPort, logger: testLogger) { webhooks.register(on: $0) }
        let emulatorServer = try await NotifyFixture.serve(port: emulatorPort, logger: testLogger) { router in
            emulator.register(on: router)
        }
        return DepositFixture(
            harness: harness, booking: booking, emulator: emulator, configuration: configuration, webhooks: webhooks,
            servers: [webhookServer.running, emulatorServer.running])
    }

    private init(
        harness: PipelineHarness, booking: BookingFixture, emulator: StripeEmulator, configuration: MessagingConfiguration,
        webhooks: StripeWebhooks, servers: [Running]
    ) {
        self.harness = harness
        self.booking = booking
        self.emulator = emulator
        self.configuration = configuration
        self.webhooks = webhooks
        self.servers = servers
    }

    func close() async {
        for s in servers { await s.stop() }
        await harness.close()
    }

    /// The payments worker's Checkout Session loop.
    var sessions: DepositSessions {
        DepositSessions(pool: pool, configuration: configuration, clock: clock, logger: testLogger)
    }

    /// Runs the relay and the payments consumer (through the mock broker) until `done`.
    func runPayments(until what: String, _ done: () async throws -> Bool) async throws {
        let relay = try harness.relay()
        let consumer = ConsumerWorker(
            consumer: try harness.consumer(group: "payments", topics: [harness.topics[.depositRequests]]), pool: pool,
            handler: PaymentsHandler(consumerName: "payments"), clock: clock, logger: testLogger)
        let runs = [Running { try await relay.run() }, Running { try await consumer.run() }]
        defer { Task { for r in runs { await r.stop() } } }
        try await eventually(what, done)
        for r in runs { await r.stop() }
    }

    func count(_ sql: String) async throws -> Int64 { try await booking.count(sql) }

    func value(_ sql: String) async throws -> String? {
        try await pool.withConnection { try await $0.query(sql).first?.decode(0, as: String?.self) }
    }

    /// Books opening `index` of p1 through its link.
    func book(_ index: Int) async throws -> BookingConfirmation? {
        guard case .booked(let c) = try await booking.service.book(token: booking.token(), reservationID: booking.holds[index]) else {
            return nil
        }
        return c
    }

    /// Books opening 2 provisionally, records the deposit through the broker and creates its session; the session id.
    func provisionalWithSession() async throws -> String {
        _ = try await book(1)
        try await runPayments(until: "deposit recorded") { try await self.count("SELECT count(*) FROM deposits") == 1 }
        #expect(try await sessions.createDue() == 1)
        return try await value("SELECT checkout_session_id FROM deposits") ?? ""
    }
}
