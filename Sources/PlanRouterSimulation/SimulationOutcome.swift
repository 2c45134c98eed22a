import Foundation
import PlanRouterPostgres
import PlanRouterStore

/// What the month produced, read from the pipeline's own tables (not from the model).
public struct SimulationOutcome: Sendable {
    public var accepted = 0
    public var acceptedCents: Int64 = 0
    public var booked = 0
    public var bookedCents: Int64 = 0
    public var closed = 0
    public var closedCents: Int64 = 0
    public var unscheduledCents: Int64 = 0
    public var bookingHoursP50: Double?
    public var bookingHoursP90: Double?
    public var firstOfferSecondsP50: Double?
    public var slaMetShare: Double?
    public var sameDayShare: Double?
    /// Follow-up cases (later visits) routed in the month and how many of them were booked by its end.
    public var followUpsRouted = 0
    public var followUpsBooked = 0
    /// Cases the lifecycle re-opened to a coordinator after their appointment was broken (no-shows among them).
    public var reopenedAfterBroken = 0
    public var counters: [String: Int] = [:]
    /// Plans presented in the month and how many of them were accepted (`presented_plans`).
    public var presented = 0
    public var presentedAccepted = 0
    /// Messages, opt-outs and deposits (SimulationOutcome+Messaging.swift); nil without patient channels.
    public var messaging: MessagingFigures?
    /// With `--pms opendental`: what the emulated PMS holds at the end.
    public var pms: PracticeOutcome?

    static func load(
        organization: String, from: Date, to: Date, counters: [String: Int], pool: PostgresPool
    ) async throws -> SimulationOutcome {
        try await pool.withConnection { conn in
            let r = try await conn.query(
                """
                WITH p AS (SELECT * FROM plans WHERE organization_id = $1 AND accepted_at >= $2 AND accepted_at < $3),
                b AS (SELECT DISTINCT ON (e.plan_id) e.plan_id, e.occurred_at FROM plan_events e JOIN p USING (plan_id)
                      WHERE e.organization_id = $1 AND e.kind = 'booked' ORDER BY e.plan_id, e.occurred_at),
                o AS (SELECT DISTINCT ON (o.plan_id) o.plan_id, o.released_at, o.sla_met, o.plan_accepted_at
                      FROM offers o JOIN p USING (plan_id)
                      WHERE o.organization_id = $1 AND o.kind = 'initial' ORDER BY o.plan_id, o.id)
                SELECT count(*), coalesce(sum(total_fee_cents), 0)::int8,
                       count(*) FILTER (WHERE status = 'booked'), coalesce(sum(total_fee_cents) FILTER (WHERE status = 'booked'), 0)::int8,
                       count(*) FILTER (WHERE status IN ('declined', 'cancelled', 'revoked')),
                       coalesce(sum(total_fee_cents) FILTER (WHERE status IN ('declined', 'cancelled', 'revoked')), 0)::int8,
                       coalesce(sum(total_fee_cents) FILTER (WHERE status IN ('accepted', 'offered', 'escalated')), 0)::int8,
                       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM b.occurred_at - p.accepted_at) / 3600) FROM b JOIN p USING (plan_id)),
                       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM b.occurred_at - p.accepted_at) / 3600) FROM b JOIN p USING (plan_id)),
                       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.released_at - o.plan_accepted_at)) FROM o),
                       (SELECT avg(CASE WHEN sla_met THEN 1.0 ELSE 0.0 END) FROM o)::float8,
                       (SELECT avg(CASE WHEN (b.occurred_at AT TIME ZONE l.time_zone)::date = (p.accepted_at AT TIME ZONE l.time_zone)::date THEN 1.0 ELSE 0.0 END)
                        FROM p JOIN locations l ON l.organization_id = p.organization_id AND l.id = p.location_id LEFT JOIN b USING (plan_id))::float8
                FROM p
                """, organization, from, to)[0]
            var o = SimulationOutcome()
            o.accepted = try r.decode(0, as: Int.self)
            o.acceptedCents = try r.decode(1, as: Int64.self)
            o.booked = try r.decode(2, as: Int.self)
            o.bookedCents = try r.decode(3, as: Int64.self)
            o.closed = try r.decode(4, as: Int.self)
            o.closedCents = try r.decode(5, as: Int64.self)
            o.unscheduledCents = try r.decode(6, as: Int64.self)
            o.bookingHoursP50 = try r.decode(7, as: Double?.self)
            o.bookingHoursP90 = try r.decode(8, as: Double?.self)
            o.firstOfferSecondsP50 = try r.decode(9, as: Double?.self)
            o.slaMetShare = try r.decode(10, as: Double?.self)
            o.sameDayShare = try r.decode(11, as: Double?.self)
            o.counters = counters
            let rate = try await conn.query(
                """
                SELECT count(*), count(*) FILTER (WHERE EXISTS (
                           SELECT 1 FROM plans p WHERE p.organization_id = s.organization_id AND p.plan_id = s.plan_id))
                FROM presented_plans s WHERE s.organization_id = $1 AND s.first_presented_at >= $2 AND s.first_presented_at < $3
                """, organization, from, to)[0]
            o.presented = try rate.decode(0, as: Int.self)
            o.presentedAccepted = try rate.decode(1, as: Int.self)
            (o.followUpsRouted, o.followUpsBooked) = try await SimulationVisitsRepository.rebooking(
                organizationID: organization, from: from, to: to, on: conn)
            o.reopenedAfterBroken = try await SimulationVisitsRepository.reopenedAfterBroken(
                organizationID: organization, from: from, to: to, on: conn)
            return o
        }
    }

    /// The routed outcome next to the manual baseline.
    public func render(model: SimulationModel) -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a" }
        func usd(_ cents: Int64) -> String {
            // Whole dollars with thousands separators: $93,000.
            var digits = Array(String(cents / 100))
            var i = digits.count - 3
            while i > 0 {
                digits.insert(",", at: i)
                i -= 3
            }
            return "$" + String(digits)
        }
        let unscheduledShare = acceptedCents > 0 ? Double(unscheduledCents) / Double(acceptedCents) : nil
        let avg = accepted > 0 ? acceptedCents / Int64(accepted) : 0
        var out = "\nPlanRouter simulation: \(accepted) accepted plans, \(usd(acceptedCents)) accepted production (average \(usd(avg)))\n\n"
        out += "  metric                                  manual baseline     with PlanRouter\n"
        out += "  " + String(repeating: "-", count: 74) + "\n"
        out +=
            "  acceptance to booking (median)          \(MetricPad.pad(SimulationModel.baselineDaysToBooking, 20))\(bookingHoursP50.map { String(format: "%.1f h", $0) } ?? "n/a") (p90 \(bookingHoursP90.map { String(format: "%.1f h", $0) } ?? "n/a"))\n"
        out +=
            "  unscheduled accepted production         \(MetricPad.pad(String(format: "%.0f%%", SimulationModel.baselineUnscheduledShare * 100), 20))\(pct(unscheduledShare)) (\(usd(unscheduledCents)))\n"
        // The baseline share applied to this DSO's own production (the brief's $93,000 is a smaller practice's month).
        let baselineCents = Int64((Double(acceptedCents) * SimulationModel.baselineUnscheduledShare).rounded())
        // Said both ways round: a short or unlucky run can schedule less than the baseline would.
        let difference = baselineCents - unscheduledCents
        let versus =
            difference >= 0
            ? "\(usd(difference)) more production scheduled" : "\(usd(-difference)) less production scheduled than the baseline"
        out +=
            "  unscheduled $ this month                \(MetricPad.pad(usd(baselineCents), 20))\(usd(unscheduledCents)) (\(versus))\n"
        out += "  booked / declined / still open          \(MetricPad.pad("", 20))\(booked) / \(closed) / \(accepted - booked - closed)\n"
        out += "  same-day scheduling of accepted cases   \(MetricPad.pad(SimulationModel.noBaseline, 20))\(pct(sameDayShare))\n"
        out +=
            "  acceptance to first offer (median)      \(MetricPad.pad("", 20))\(firstOfferSecondsP50.map { String(format: "%.0f s", $0) } ?? "n/a") of simulated time (the clock waits while the cluster works)\n"
        out += "  first-offer SLA met                     \(MetricPad.pad("", 20))\(pct(slaMetShare))\n"
        let acceptance = presented > 0 ? Double(presentedAccepted) / Double(presented) : nil
        out +=
            "  plan acceptance rate                    \(MetricPad.pad(SimulationModel.noBaseline, 20))\(pct(acceptance)) (\(presentedAccepted) of \(presented) presented; a model input, accept_presented = \(model.acceptPresented))\n"
        let rebooked = followUpsRouted > 0 ? Double(followUpsBooked) / Double(followUpsRouted) : nil
        out +=
            "  recall/follow-up re-booked              \(MetricPad.pad(SimulationModel.baselineFollowUpRebooked, 20))\(pct(rebooked)) (\(followUpsBooked) of \(followUpsRouted) follow-up cases routed)\n"
        out +=
            "\n  baseline: \(SimulationModel.baselineDaysToBooking) to booking and \(Int(SimulationModel.baselineUnscheduledShare * 100))% unscheduled (about $\(SimulationModel.baselineMonthlyUnscheduledDollars / 1000),000 a month in the benchmarks' worked example)\n"
        out +=
            "  patients: \(counters["booked_link", default: 0]) booked by link, \(counters["booked_pms", default: 0]) booked in the PMS (front desk or coordinator), "
        out +=
            "\(counters["booking_conflict", default: 0]) link conflicts, \(counters["declined", default: 0] + counters["task_declined", default: 0]) declined; \(counters["tasks", default: 0]) coordinator tasks\n"
        // The model decides who shows (show_rate); the pipeline's history says which no-shows reached a coordinator.
        out +=
            "  appointments: \(counters["completed", default: 0]) kept, \(counters["no_show", default: 0]) no-shows (show_rate \(model.showRate)), "
            + "broken in the PMS; \(reopenedAfterBroken) cases re-opened to a coordinator after a broken appointment\n"
        out += renderMessaging()
        if let pms { out += pms.render(cases: accepted - followUpsRouted, followUps: followUpsRouted) }
        return out
    }
}

enum MetricPad {
    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
