import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// The practice benchmark table: same-day scheduling, unscheduled accepted
/// treatment, acceptance-to-booking and acceptance-to-first-offer times and
/// first-offer SLA compliance, overall and per tier, for the cases accepted on
/// location-local days `from...to`, as of `asOf`. Read from the
/// `analytics_benchmarks(...)` function of migration 0004 (docs/analytics.md),
/// so the CLI, the simulator and analysts' SQL agree on every number. Every number is
/// each case as it stood at `asOf`, from facts happened and recorded by then (migration
/// 0010), so the same `asOf` gives the same report whenever it is loaded.
public struct AnalyticsReport: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        /// nil: every tier together. Unclassified cases have tier "unclassified".
        public var tier: String?
        public var acceptedCases: Int
        public var acceptedCents: Int64
        public var scheduledCases: Int
        public var scheduledCents: Int64
        public var unscheduledCases: Int
        public var unscheduledCents: Int64
        /// Unscheduled share of accepted production, percent with two decimals; nil without production.
        public var unscheduledPercent: Double?
        public var closedCases: Int
        public var closedCents: Int64
        /// Cases booked on the location-local day of their acceptance.
        public var sameDayCases: Int
        public var sameDayPercent: Double?
        public var offeredCases: Int
        public var firstOfferP50Seconds: Double?
        public var firstOfferP90Seconds: Double?
        public var bookedCases: Int
        public var bookingP50Seconds: Double?
        public var bookingP90Seconds: Double?
        public var initialOffers: Int
        public var initialOffersSLAMet: Int
        public var firstOfferSLAPercent: Double?
        /// Plans first presented in the period (plan.presented), and how many of them were accepted
        /// by `asOf`: the plan acceptance rate (`analytics_plan_acceptance`). Zero and nil without
        /// presentations (a connector that does not publish them).
        public var presentedPlans: Int = 0
        public var presentedAccepted: Int = 0
        public var acceptancePercent: Double?
        /// Deposits requested in the period and how many were paid by `asOf` (`analytics_deposit_conversion`).
        public var depositsRequested: Int = 0
        public var depositsPaid: Int = 0
        public var depositConversionPercent: Double?
        /// Later visits (staged and recall) routed in the period and how many of those follow-up cases were
        /// booked by `asOf`: the "recall/follow-up re-booked" rate (`analytics_follow_up_rebooking`).
        public var followUpsRouted: Int = 0
        public var followUpsBooked: Int = 0
        public var followUpRebookedPercent: Double?
    }

    public struct UnknownOrganization: Error, CustomStringConvertible, Sendable {
        public var organization: String
        public var description: String { "unknown organization \"\(organization)\" (no such row in organizations)" }
    }

    /// nil: every organization.
    public var organization: String?
    /// nil bounds: the last 30 days ending on `asOf`'s local day, per location.
    public var from: PostgresDate?
    public var to: PostgresDate?
    public var asOf: Date
    public var total: Row
    /// One row per tier with accepted cases, by name.
    public var tiers: [Row]

    public static func load(
        on conn: PostgresConnection, organization: String?, from: PostgresDate?, to: PostgresDate?, asOf: Date
    ) async throws -> AnalyticsReport {
        if let organization {
            let known = try await conn.query("SELECT 1 FROM organizations WHERE id = $1", organization)
            if known.isEmpty { throw UnknownOrganization(organization: organization) }
        }
        let rows = try await conn.query(
            """
            SELECT level, tier, accepted_cases, accepted_cents, scheduled_cases, scheduled_cents,
                   unscheduled_cases, unscheduled_cents, unscheduled_pct::float8, closed_cases, closed_cents,
                   same_day_cases, same_day_pct::float8, offered_cases, first_offer_p50_seconds, first_offer_p90_seconds,
                   booked_cases, booking_p50_seconds, booking_p90_seconds,
                   initial_offers, initial_offers_sla_met, first_offer_sla_pct::float8
            FROM analytics_benchmarks($1, $2, $3, $4)
            WHERE level IN ('all', 'tier')
            ORDER BY level, tier
            """, from, to, asOf, organization)
        var total: Row?
        var tiers: [Row] = []
        for r in rows {
            let row = Row(
                tier: try r.decode(1, as: String?.self),
                acceptedCases: try r.decode(2, as: Int.self), acceptedCents: try r.decode(3, as: Int64?.self) ?? 0,
                scheduledCases: try r.decode(4, as: Int.self), scheduledCents: try r.decode(5, as: Int64.self),
                unscheduledCases: try r.decode(6, as: Int.self), unscheduledCents: try r.decode(7, as: Int64.self),
                unscheduledPercent: try r.decode(8, as: Double?.self),
                closedCases: try r.decode(9, as: Int.self), closedCents: try r.decode(10, as: Int64.self),
                sameDayCases: try r.decode(11, as: Int.self), sameDayPercent: try r.decode(12, as: Double?.self),
                offeredCases: try r.decode(13, as: Int.self),
                firstOfferP50Seconds: try r.decode(14, as: Double?.self), firstOfferP90Seconds: try r.decode(15, as: Double?.self),
                bookedCases: try r.decode(16, as: Int.self),
                bookingP50Seconds: try r.decode(17, as: Double?.self), bookingP90Seconds: try r.decode(18, as: Double?.self),
                initialOffers: try r.decode(19, as: Int?.self) ?? 0, initialOffersSLAMet: try r.decode(20, as: Int?.self) ?? 0,
                firstOfferSLAPercent: try r.decode(21, as: Double?.self))
            if try r.decode(0, as: String.self) == "all" { total = row } else { tiers.append(row) }
        }
        var report = AnalyticsReport(
            organization: organization, from: from, to: to, asOf: asOf,
            total: total ?? Row.empty, tiers: tiers)
        try await report.addAcceptanceRates(on: conn)
        try await report.addDepositConversion(on: conn)
        try await report.addFollowUpRebooking(on: conn)
        return report
    }

    /// The deposit conversion columns, per tier and overall.
    mutating func addDepositConversion(on conn: PostgresConnection) async throws {
        try await merge(
            """
            SELECT level, tier, requested, paid, conversion_pct::float8
            FROM analytics_deposit_conversion($1, $2, $3, $4)
            WHERE level IN ('all', 'tier')
            """, on: conn
        ) { row, v in (row.depositsRequested, row.depositsPaid, row.depositConversionPercent) = v }
    }

    /// The recall/follow-up re-booked columns, per tier (of the follow-up case) and overall.
    mutating func addFollowUpRebooking(on conn: PostgresConnection) async throws {
        try await merge(
            """
            SELECT level, tier, routed_visits, booked_visits, rebooked_pct::float8
            FROM analytics_follow_up_rebooking($1, $2, $3, $4)
            WHERE level IN ('all', 'tier')
            """, on: conn
        ) { row, v in (row.followUpsRouted, row.followUpsBooked, row.followUpRebookedPercent) = v }
    }

    /// The acceptance rate columns, per tier and overall.
    mutating func addAcceptanceRates(on conn: PostgresConnection) async throws {
        try await merge(
            """
            SELECT level, tier, presented_plans, accepted_plans, acceptance_pct::float8
            FROM analytics_plan_acceptance($1, $2, $3, $4)
            WHERE level IN ('all', 'tier')
            """, on: conn
        ) { row, v in (row.presentedPlans, row.presentedAccepted, row.acceptancePercent) = v }
    }

    /// Sets columns from a query of (level, tier, count, count, percent) rows over this report's period:
    /// `level = 'all'` on the all-tiers row, else on the tier's row; a tier with no accepted case gets a row of its own.
    mutating func merge(_ sql: String, on conn: PostgresConnection, _ set: (inout Row, (Int, Int, Double?)) -> Void) async throws {
        for r in try await conn.query(sql, from, to, asOf, organization) {
            let values = (try r.decode(2, as: Int.self), try r.decode(3, as: Int.self), try r.decode(4, as: Double?.self))
            if try r.decode(0, as: String.self) == "all" {
                set(&total, values)
                continue
            }
            let tier = try r.decode(1, as: String?.self)
            if let i = tiers.firstIndex(where: { $0.tier == tier }) {
                set(&tiers[i], values)
            } else {
                var row = Row.empty
                row.tier = tier
                set(&row, values)
                tiers.append(row)
                tiers.sort { ($0.tier ?? "") < ($1.tier ?? "") }
            }
        }
    }
}

extension AnalyticsReport.Row {
    static let empty = AnalyticsReport.Row(
        tier: nil, acceptedCases: 0, acceptedCents: 0, scheduledCases: 0, scheduledCents: 0, unscheduledCases: 0, unscheduledCents: 0,
        unscheduledPercent: nil, closedCases: 0, closedCents: 0, sameDayCases: 0, sameDayPercent: nil, offeredCases: 0,
        firstOfferP50Seconds: nil, firstOfferP90Seconds: nil, bookedCases: 0, bookingP50Seconds: nil, bookingP90Seconds: nil,
        initialOffers: 0, initialOffersSLAMet: 0, firstOfferSLAPercent: nil)
}

// MARK: - Rendering (table, CSV, JSON), shared by `planrouter report` and the simulator.

extension AnalyticsReport {
    /// The rows in print order: every tier together first, then the tiers.
    public var allRows: [Row] { [total] + tiers }

    public var periodDescription: String {
        switch (from, to) {
        case (nil, nil): "the last 30 days ending today (each location's local days)"
        case (let f?, let t?): "\(f) to \(t) (location-local days)"
        case (let f?, nil): "\(f) to today (location-local days)"
        case (nil, let t?): "the 30 days ending \(t) (location-local days)"
        }
    }

    /// A fixed-width table for people.
    public func table() -> String {
        let header = [
            "tier", "cases", "same-day", "unscheduled", "unscheduled $", "booking p50", "booking p90",
            "1st offer p50", "1st offer p90", "1st-offer SLA", "plan acceptance", "deposits paid", "follow-up re-booked",
        ]
        var lines: [[String]] = [header]
        for r in allRows {
            lines.append([
                r.tier ?? "all tiers", String(r.acceptedCases), Self.percent(r.sameDayPercent), Self.percent(r.unscheduledPercent),
                Self.dollars(r.unscheduledCents), Self.hours(r.bookingP50Seconds), Self.hours(r.bookingP90Seconds),
                Self.minutes(r.firstOfferP50Seconds), Self.minutes(r.firstOfferP90Seconds),
                Self.percent(r.firstOfferSLAPercent) + (r.initialOffers > 0 ? " (\(r.initialOffersSLAMet)/\(r.initialOffers))" : ""),
                Self.percent(r.acceptancePercent) + (r.presentedPlans > 0 ? " (\(r.presentedAccepted)/\(r.presentedPlans))" : ""),
                Self.percent(r.depositConversionPercent) + (r.depositsRequested > 0 ? " (\(r.depositsPaid)/\(r.depositsRequested))" : ""),
                Self.percent(r.followUpRebookedPercent) + (r.followUpsRouted > 0 ? " (\(r.followUpsBooked)/\(r.followUpsRouted))" : ""),
            ])
        }
        let widths = header.indices.map { c in lines.map { $0[c].count }.max() ?? 0 }
        let body = lines.map { cells in
            cells.enumerated().map { c, text in
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return c == 0 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        let title =
            "Benchmarks for \(organization.map { "organization \($0)" } ?? "all organizations"), cases accepted \(periodDescription), as of \(RFC3339.format(asOf))"
        return ([title, ""] + body).joined(separator: "\n") + "\n"
    }

    static let csvColumns = [
        "tier", "accepted_cases", "accepted_cents", "scheduled_cases", "scheduled_cents", "unscheduled_cases", "unscheduled_cents",
        "unscheduled_dollars", "unscheduled_pct", "closed_cases", "closed_cents", "same_day_cases", "same_day_pct", "offered_cases",
        "first_offer_p50_seconds", "first_offer_p90_seconds", "booked_cases", "booking_p50_seconds", "booking_p90_seconds",
        "initial_offers", "initial_offers_sla_met", "first_offer_sla_pct", "presented_plans", "presented_accepted", "acceptance_pct",
        "deposits_requested", "deposits_paid", "deposit_conversion_pct", "follow_ups_routed", "follow_ups_booked", "follow_up_rebooked_pct",
    ]

    /// One header line and a line per row; the all-tiers row has tier "all". Empty cells are unknown values.
    public func csv() -> String {
        var out = Self.csvColumns.joined(separator: ",") + "\n"
        for r in allRows {
            let cells: [String] = [
                Self.csvText(r.tier ?? "all"), String(r.acceptedCases), String(r.acceptedCents), String(r.scheduledCases),
                String(r.scheduledCents), String(r.unscheduledCases), String(r.unscheduledCents), Self.plainDollars(r.unscheduledCents),
                Self.number(r.unscheduledPercent), String(r.closedCases), String(r.closedCents), String(r.sameDayCases),
                Self.number(r.sameDayPercent), String(r.offeredCases), Self.number(r.firstOfferP50Seconds),
                Self.number(r.firstOfferP90Seconds), String(r.bookedCases), Self.number(r.bookingP50Seconds),
                Self.number(r.bookingP90Seconds), String(r.initialOffers), String(r.initialOffersSLAMet),
                Self.number(r.firstOfferSLAPercent), String(r.presentedPlans), String(r.presentedAccepted),
                Self.number(r.acceptancePercent), String(r.depositsRequested), String(r.depositsPaid),
                Self.number(r.depositConversionPercent), String(r.followUpsRouted), String(r.followUpsBooked),
                Self.number(r.followUpRebookedPercent),
            ]
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    public func jsonValue() -> JSONValue {
        func num(_ d: Double?) -> JSONValue {
            guard let d else { return .null }
            return d == d.rounded() && abs(d) < 9e15 ? .int(Int64(d)) : .double(d)
        }
        func row(_ r: Row) -> JSONValue {
            .object([
                "tier": r.tier.map(JSONValue.string) ?? .null,
                "accepted_cases": .int(Int64(r.acceptedCases)), "accepted_cents": .int(r.acceptedCents),
                "scheduled_cases": .int(Int64(r.scheduledCases)), "scheduled_cents": .int(r.scheduledCents),
                "unscheduled_cases": .int(Int64(r.unscheduledCases)), "unscheduled_cents": .int(r.unscheduledCents),
                "unscheduled_pct": num(r.unscheduledPercent),
                "closed_cases": .int(Int64(r.closedCases)), "closed_cents": .int(r.closedCents),
                "same_day_cases": .int(Int64(r.sameDayCases)), "same_day_pct": num(r.sameDayPercent),
                "offered_cases": .int(Int64(r.offeredCases)),
                "first_offer_p50_seconds": num(r.firstOfferP50Seconds), "first_offer_p90_seconds": num(r.firstOfferP90Seconds),
                "booked_cases": .int(Int64(r.bookedCases)),
                "booking_p50_seconds": num(r.bookingP50Seconds), "booking_p90_seconds": num(r.bookingP90Seconds),
                "initial_offers": .int(Int64(r.initialOffers)), "initial_offers_sla_met": .int(Int64(r.initialOffersSLAMet)),
                "first_offer_sla_pct": num(r.firstOfferSLAPercent),
                "presented_plans": .int(Int64(r.presentedPlans)), "presented_accepted": .int(Int64(r.presentedAccepted)),
                "acceptance_pct": num(r.acceptancePercent),
                "deposits_requested": .int(Int64(r.depositsRequested)), "deposits_paid": .int(Int64(r.depositsPaid)),
                "deposit_conversion_pct": num(r.depositConversionPercent),
                "follow_ups_routed": .int(Int64(r.followUpsRouted)), "follow_ups_booked": .int(Int64(r.followUpsBooked)),
                "follow_up_rebooked_pct": num(r.followUpRebookedPercent),
            ])
        }
        return .object([
            "organization": organization.map(JSONValue.string) ?? .null,
            "from": from.map { .string($0.description) } ?? .null,
            "to": to.map { .string($0.description) } ?? .null,
            "as_of": .string(RFC3339.format(asOf)),
            "total": row(total),
            "tiers": .array(tiers.map(row)),
        ])
    }

    public func json() -> String { jsonValue().serialized() + "\n" }

    // Formatting helpers: no locale, so output is the same everywhere.

    static func percent(_ p: Double?) -> String { p.map { String(format: "%.2f%%", $0) } ?? "-" }
    static func hours(_ s: Double?) -> String { s.map { String(format: "%.1f h", $0 / 3600) } ?? "-" }
    static func minutes(_ s: Double?) -> String { s.map { String(format: "%.1f min", $0 / 60) } ?? "-" }
    static func number(_ d: Double?) -> String {
        guard let d else { return "" }
        return d == d.rounded() && abs(d) < 9e15 ? String(Int64(d)) : String(d)
    }

    static func plainDollars(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let c = cents.magnitude
        return sign + String(c / 100) + "." + String(format: "%02d", Int(c % 100))
    }

    /// "$12,345.67".
    static func dollars(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let c = cents.magnitude
        var whole = String(c / 100)
        var groups: [String] = []
        while whole.count > 3 {
            groups.insert(String(whole.suffix(3)), at: 0)
            whole.removeLast(3)
        }
        groups.insert(whole, at: 0)
        return sign + "$" + groups.joined(separator: ",") + "." + String(format: "%02d", Int(c % 100))
    }

    static func csvText(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
