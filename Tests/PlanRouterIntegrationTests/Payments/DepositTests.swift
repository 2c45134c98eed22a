import Foundation
import HummingbirdTesting
import PlanRouterBooking
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Testing

@testable import PlanRouterWorkers

/// Deposits through Stripe Checkout (the emulator), coupled to booking: docs/payments.md.
@Suite struct DepositTests {
    static let appointmentRequests = "SELECT count(*) FROM outbox WHERE topic = 'pms.appointment-requests'"

    @Test func depositToConfirmPaymentConfirmsTheProvisionalBookingAndPublishesTheWriteBackOnce() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let chosen = f.booking.holds[1]
        let c = try #require(try await f.book(1))
        #expect(c.provisionalUntil == BookingFixture.now.addingTimeInterval(7200))
        // Provisional: the chosen hold kept until the deadline, the others released, the ladder paused, nothing to the PMS.
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'offered'") == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM reservations WHERE id = \(chosen) AND kind = 'hold' AND active
                  AND expires_at = '2026-12-01T16:30:00Z'::timestamptz
                """) == 1)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE NOT active AND release_reason = 'provisional_other'") == 2)
        #expect(try await f.count("SELECT count(*) FROM timers WHERE kind = 'ladder' AND status = 'cancelled'") == 2)
        #expect(try await f.count("SELECT count(*) FROM timers WHERE kind = 'deposit' AND status = 'pending'") == 1)
        #expect(try await f.count(Self.appointmentRequests) == 0)

        // The payments worker records the request from the broker and creates the session.
        try await f.runPayments(until: "deposit recorded") { try await f.count("SELECT count(*) FROM deposits") == 1 }
        #expect(try await f.sessions.createDue() == 1)
        let sessionID = try #require(try await f.value("SELECT checkout_session_id FROM deposits WHERE status = 'requested'"))
        let url = try #require(try await f.value("SELECT checkout_url FROM deposits"))
        let session = try #require(f.emulator.session(sessionID))
        #expect(sessionID.hasPrefix("cs_test_"))
        #expect(session["amount_total"] == 50_000 && session["currency"] == "usd")
        #expect(session["metadata"]?["plan_id"] == "p1" && session["metadata"]?["organization"] == "org-1")
        #expect(session["expires_at"]?.int64Value == Int64(BookingFixture.now.timeIntervalSince1970) + 7200)
        // The patient's text carries the checkout URL, and so does the used link's page.
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM outbox WHERE topic = 'patient.messages'
                  AND convert_from(payload, 'UTF8')::jsonb->'data'->>'kind' = 'deposit'
                  AND convert_from(payload, 'UTF8')::jsonb->'data'->>'link' = '\(url)'
                """) == 1)
        let token = f.booking.token()
        try await f.booking.test { client in
            let page = try await client.get("/book/\(token)")
            #expect(page.status == .ok)
            #expect(page.text.contains(url))
        }
        // A second round creates nothing more.
        #expect(try await f.sessions.createDue() == 0)

        // A minute later the patient pays: the signed webhook confirms the booking, and only now is the write-back in the outbox.
        f.clock.advance(by: 60)
        #expect(try await f.emulator.pay(sessionID))
        #expect(f.emulator.deliveries.map(\.status) == [200])
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'booked'") == 1)
        #expect(try await f.count("SELECT count(*) FROM reservations WHERE id = \(chosen) AND kind = 'booking' AND active") == 1)
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 1)
        #expect(try await f.count("SELECT count(*) FROM timers WHERE kind = 'deposit' AND status = 'cancelled'") == 1)
        #expect(try await f.count(Self.appointmentRequests) == 1)
        #expect(try await f.count("SELECT count(*) FROM plan_events WHERE kind = 'booked' AND detail->>'via' = 'deposit'") == 1)

        // Stripe redelivers the same event: nothing changes.
        let eventID = try #require(f.emulator.deliveries.last?.eventID)
        #expect(try await f.emulator.resend(eventID) == 200)
        #expect(try await f.count(Self.appointmentRequests) == 1)
        #expect(try await f.count("SELECT count(*) FROM stripe_webhook_events") == 1)

        // Deposit conversion by tier, in the report.
        let report = try await f.pool.withConnection {
            try await AnalyticsReport.load(
                on: $0, organization: "org-1", from: nil, to: nil, asOf: BookingFixture.now.addingTimeInterval(120))
        }
        #expect(report.tiers.first { $0.tier == "surgical" }?.depositsPaid == 1)
        #expect(report.total.depositsRequested == 1 && report.total.depositConversionPercent == 100)
        #expect(report.table().contains("100.00% (1/1)"))
        // As of before the payment, the same deposit was requested and not paid.
        let before = try await f.pool.withConnection {
            try await AnalyticsReport.load(
                on: $0, organization: "org-1", from: nil, to: nil, asOf: BookingFixture.now.addingTimeInterval(30))
        }
        #expect(before.total.depositsRequested == 1 && before.total.depositsPaid == 0 && before.total.depositConversionPercent == 0)
        await f.close()
    }

    @Test func anUnpaidDepositReleasesTheHoldTellsThePatientAndTheLadderGoesOn() async throws {
        let f = try await DepositFixture.start(tier: "aesthetic")
        let chosen = f.booking.holds[1]
        _ = try await f.provisionalWithSession()
        // The hold's deadline passes without a payment: the escalation worker's deposit timer fires.
        f.clock.advance(by: 7201)
        let timers = f.harness.timers(clock: f.clock)
        #expect(try await timers.fireOnce() >= 1)
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'expired'") == 1)
        #expect(
            try await f.count("SELECT count(*) FROM reservations WHERE id = \(chosen) AND NOT active AND release_reason = 'deposit_unpaid'")
                == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'offered'") == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND event_id LIKE 'deposit-expired-%'
                  AND convert_from(payload, 'UTF8')::jsonb->'data'->>'body' LIKE '%released the time%'
                """) == 1)
        // The ladder's paused steps (due a day after the booking) are pending again.
        #expect(try await f.count("SELECT count(*) FROM timers WHERE kind = 'ladder' AND status = 'pending'") == 2)
        #expect(try await f.count("SELECT count(*) FROM plan_events WHERE kind = 'deposit_expired'") == 1)
        #expect(
            try await f.count(
                """
                SELECT expired FROM analytics_deposit_conversion(NULL, NULL, '2026-12-01T17:00:00Z', 'org-1')
                WHERE level = 'tier' AND tier = 'aesthetic' AND requested = 1 AND paid = 0 AND conversion_pct = 0
                """) == 1)
        #expect(try await f.count(Self.appointmentRequests) == 0)

        // Stripe's own expiry event afterwards changes nothing more.
        let sessionID = try #require(try await f.value("SELECT checkout_session_id FROM deposits"))
        #expect(try await f.emulator.expire(sessionID))
        #expect(f.emulator.deliveries.last?.status == 200)
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'expired'") == 1)
        await f.close()
    }

    @Test func depositAfterBookingBooksAtOnceAndRequestsTheDepositWithItsOwnMessage() async throws {
        let f = try await DepositFixture.start(tier: "restorative")
        let c = try #require(try await f.book(0))
        #expect(c.provisionalUntil == nil)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'booked'") == 1)
        #expect(try await f.count(Self.appointmentRequests) == 1)
        try await f.runPayments(until: "deposit recorded") {
            try await f.count("SELECT count(*) FROM deposits WHERE policy = 'deposit_after_booking' AND reservation_id IS NULL") == 1
        }
        #expect(try await f.sessions.createDue() == 1)
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM outbox WHERE topic = 'patient.messages'
                  AND convert_from(payload, 'UTF8')::jsonb->'data'->>'body' LIKE '%your visit is booked%'
                """) == 1)
        // Its own reminder, four hours before the link runs out (24 h after the request), with the same link.
        #expect(
            try await f.count(
                "SELECT count(*) FROM timers WHERE kind = 'deposit' AND payload->>'action' = 'deposit_reminder' AND due_at = '2026-12-02T10:30:00Z'"
            )
                == 1)
        f.clock.advance(by: 20 * 3600)
        #expect(try await f.harness.timers(clock: f.clock).fireOnce() >= 1)
        let url = try #require(try await f.value("SELECT checkout_url FROM deposits"))
        #expect(
            try await f.count(
                """
                SELECT count(*) FROM outbox WHERE topic = 'patient.messages' AND event_id LIKE 'deposit-reminder-%'
                  AND convert_from(payload, 'UTF8')::jsonb->'data'->>'link' = '\(url)'
                  -- 05:30 in New York: it waits for the end of the location's quiet hours (08:00).
                  AND (convert_from(payload, 'UTF8')::jsonb->'data'->>'send_after')::timestamptz = '2026-12-02T13:00:00Z'
                """) == 1)
        // The used link's page shows the deposit due and its link.
        let token = f.booking.token()
        try await f.booking.test { client in
            let page = try await client.get("/book/\(token)")
            #expect(page.status == .ok && page.text.contains("Your visit is booked") && page.text.contains(url))
        }
        let sessionID = try #require(try await f.value("SELECT checkout_session_id FROM deposits"))
        #expect(try await f.emulator.pay(sessionID))
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 1)
        #expect(try await f.count(Self.appointmentRequests) == 1)
        await f.close()
    }

    /// The raw body of a `checkout.session.completed` (paid) event of p1's deposit.
    static func paidEvent(_ id: String, sessionID: String, depositID: String) -> [UInt8] {
        Array(
            JSONValue.object([
                "id": .string(id), "type": "checkout.session.completed",
                "data": .object([
                    "object": .object([
                        "id": .string(sessionID), "payment_status": "paid",
                        "metadata": .object(["organization": "org-1", "plan_id": "p1", "deposit_id": .string(depositID)]),
                    ])
                ]),
            ]).serialized().utf8)
    }

    @Test func theWebhookRefusesBadSignaturesAndAppliesAnEventOnce() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let sessionID = try await f.provisionalWithSession()
        let depositID = try #require(try await f.value("SELECT deposit_id FROM deposits"))
        let body = Self.paidEvent("evt_replayed", sessionID: sessionID, depositID: depositID)
        let now = BookingFixture.now
        let t = Int64(now.timeIntervalSince1970)
        let wrong = StripeSignature.header(payload: body, timestamp: t, secrets: ["whsec_wrong"])
        #expect(try await f.webhooks.apply(body: body, signature: wrong, receivedAt: now, now: now) == .failure(.noMatchingSignature))
        let stale = StripeSignature.header(payload: body, timestamp: t - 301, secrets: [DepositFixture.webhookSecret])
        #expect(try await f.webhooks.apply(body: body, signature: stale, receivedAt: now, now: now) == .failure(.staleTimestamp))
        #expect(try await f.count("SELECT count(*) FROM stripe_webhook_events") == 0)
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 0)

        let good = StripeSignature.header(payload: body, timestamp: t, secrets: [DepositFixture.webhookSecret])
        #expect(try await f.webhooks.apply(body: body, signature: good, receivedAt: now, now: now) == .success(.confirmed))
        #expect(try await f.webhooks.apply(body: body, signature: good, receivedAt: now, now: now) == .success(.duplicate))
        #expect(try await f.count(Self.appointmentRequests) == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE status = 'booked'") == 1)
        await f.close()
    }

    /// The demo's month runs on a simulated clock weeks away from the wall clock: a delivery signed just now
    /// (wall clock) is fresh and applies at business time; one timestamped at business time but stale on the
    /// wall clock is refused. Freshness is a transport check (docs/payments.md).
    @Test func signatureFreshnessIsJudgedOnTheWallClockAndTheEventAppliesAtBusinessTime() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let sessionID = try await f.provisionalWithSession()
        let depositID = try #require(try await f.value("SELECT deposit_id FROM deposits"))
        let body = Self.paidEvent("evt_wall", sessionID: sessionID, depositID: depositID)
        let business = BookingFixture.now.addingTimeInterval(60)
        let wall = business.addingTimeInterval(-20 * 86_400)
        let signedAtBusinessTime = StripeSignature.header(
            payload: body, timestamp: Int64(business.timeIntervalSince1970), secrets: [DepositFixture.webhookSecret])
        #expect(
            try await f.webhooks.apply(body: body, signature: signedAtBusinessTime, receivedAt: wall, now: business)
                == .failure(.staleTimestamp))
        let signedNow = StripeSignature.header(
            payload: body, timestamp: Int64(wall.timeIntervalSince1970), secrets: [DepositFixture.webhookSecret])
        #expect(try await f.webhooks.apply(body: body, signature: signedNow, receivedAt: wall, now: business) == .success(.confirmed))
        let paidAt = try await f.pool.withConnection {
            try await $0.query("SELECT paid_at FROM deposits")[0].decode(0, as: Date?.self)
        }
        #expect(paidAt == business)
        await f.close()
    }

    @Test func aPaidDepositWhoseHoldRanOutBecomesACoordinatorTask() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let sessionID = try await f.provisionalWithSession()
        // The deadline passes and the hold goes before Stripe reports the payment.
        f.clock.advance(by: 7201)
        #expect(try await f.harness.timers(clock: f.clock).fireOnce() >= 1)
        #expect(try await f.emulator.pay(sessionID))
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 1)
        #expect(try await f.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'deposit_unconfirmed' AND status = 'open'") == 1)
        #expect(try await f.count(Self.appointmentRequests) == 0)
        await f.close()
    }

    @Test func aCancelledAppointmentWhoseDepositWasPaidGetsARefundTask() async throws {
        let f = try await DepositFixture.start(tier: "surgical")
        let sessionID = try await f.provisionalWithSession()
        #expect(try await f.emulator.pay(sessionID))
        // The connector wrote the booking back as PMS appointment 9001 (its pms_writebacks row).
        try await f.pool.withConnection { c in
            _ = try await c.execute(
                """
                INSERT INTO pms_writebacks (organization_id, request_id, event_id, connector, office_id, location_id, plan_id, request, status,
                                            pms_appointment_id, created_at, updated_at)
                VALUES ('org-1', 'r-1', 'r-1', 'opendental', 'office-1', 'loc-12', 'p1', '{}', 'written', '9001', now(), now())
                """)
        }
        let cancelled = AppointmentChanged(
            organizationID: "org-1", locationID: "loc-12", appointmentID: "9001", changedAt: BookingFixture.now, status: .cancelled,
            patientID: "pat-1", providerID: "prov-p1", start: BookingFixture.now.addingTimeInterval(86_400))
        let event = CloudEvent(
            id: "appt-9001-cancelled", source: "opendental/loc-12", time: BookingFixture.now, subject: "p1", data: cancelled)
        try await f.harness.publish(events: [event.json], topic: f.harness.topics[.appointmentChanged])
        let lifecycle = try f.harness.lifecycle(clock: f.clock)
        let run = Running { try await lifecycle.run() }
        try await eventually("refund task") {
            try await f.count("SELECT count(*) FROM coordinator_tasks WHERE kind = 'deposit_refund'") == 1
        }
        await run.stop()
        #expect(
            try await f.count(
                "SELECT count(*) FROM coordinator_tasks WHERE kind = 'deposit_refund' AND urgent AND context->'deposit'->>'status' = 'paid'"
            ) == 1)
        #expect(try await f.count("SELECT count(*) FROM plans WHERE plan_id = 'p1' AND status = 'escalated'") == 1)
        // No refund is made by PlanRouter: the deposit stays paid until a coordinator refunds it in Stripe.
        #expect(try await f.count("SELECT count(*) FROM deposits WHERE status = 'paid'") == 1)
        await f.close()
    }
}
