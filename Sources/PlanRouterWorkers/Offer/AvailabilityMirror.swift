import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres

/// Mirrors the PMS's calendars into PostgreSQL: schedule.changed replaces a
/// location's blocks and blockouts for a date range; appointment.changed upserts
/// PMS appointments as busy time. Both bump the location's calendar_version.
enum AvailabilityMirror {
    /// Applies one schedule.changed; returns false when a newer schedule already covers the range.
    static func applySchedule(_ e: IncomingEvent, in tx: PostgresConnection, now: Date) async throws -> Bool {
        let d = e.event.data
        let org = d["organization_id"]!.stringValue!
        let loc = d["location_id"]!.stringValue!
        let changedAt = RFC3339.parse(d["changed_at"]!.stringValue!)!
        // Parse and check everything first: a rejected event must leave no partial writes.
        let blocks = d["blocks"]?.arrayValue ?? []
        var bp: [String] = [], bs: [Date] = [], be: [Date] = [], bo: [PostgresJSON] = []
        for b in blocks {
            let s = RFC3339.parse(b["start"]!.stringValue!)!, en = RFC3339.parse(b["end"]!.stringValue!)!
            guard en > s else { throw EventRejection(.invalidData, "/data/blocks: a block ends before it starts") }
            bp.append(b["provider_id"]!.stringValue!)
            bs.append(s)
            be.append(en)
            bo.append(PostgresJSON((b["operatory_ids"] ?? []).serialized()))
        }
        let outs = d["blockouts"]?.arrayValue ?? []
        var op: [String?] = [], os: [Date] = [], oe: [Date] = [], ok: [String] = [], oo: [PostgresJSON] = []
        for b in outs {
            let s = RFC3339.parse(b["start"]!.stringValue!)!, en = RFC3339.parse(b["end"]!.stringValue!)!
            guard en > s else { throw EventRejection(.invalidData, "/data/blockouts: a blockout ends before it starts") }
            op.append(b["provider_id"]?.stringValue)
            os.append(s)
            oe.append(en)
            ok.append(b["type"]!.stringValue!)
            oo.append(PostgresJSON((b["operatory_ids"] ?? []).serialized()))
        }
        let zone = d["time_zone"]?.stringValue
        if let zone, TimeZone(identifier: zone) == nil { throw EventRejection(.invalidData, "/data/time_zone: unknown IANA time zone") }
        if d["from"]!.stringValue! > d["to"]!.stringValue! { throw EventRejection(.invalidData, "/data/from: after /data/to") }
        try await ensureLocation(org: org, location: loc, in: tx)
        if let tz = zone {
            _ = try await tx.execute("UPDATE locations SET time_zone = $2 WHERE id = $1 AND time_zone <> $2", loc, tz)
        }
        // The range in the location's zone: local midnight of `from` to local midnight after `to`.
        let range = "tstzrange((($2::date)::timestamp AT TIME ZONE l.time_zone), (($3::date + 1)::timestamp AT TIME ZONE l.time_zone))"
        let from = d["from"]!.stringValue!
        let to = d["to"]!.stringValue!
        let newer = try await tx.query(
            "SELECT 1 FROM schedule_blocks b JOIN locations l ON l.id = b.location_id WHERE b.location_id = $1 AND b.during && \(range) AND b.changed_at > $4 LIMIT 1",
            loc, from, to, changedAt)
        if !newer.isEmpty { return false }
        _ = try await tx.execute(
            "DELETE FROM schedule_blocks b USING locations l WHERE l.id = b.location_id AND b.location_id = $1 AND lower(b.during) <@ \(range)",
            loc, from, to)
        _ = try await tx.execute(
            "DELETE FROM blockouts b USING locations l WHERE l.id = b.location_id AND b.location_id = $1 AND lower(b.during) <@ \(range)",
            loc, from, to)
        if let providers = d["providers"]?.arrayValue, !providers.isEmpty {
            _ = try await tx.execute(
                """
                INSERT INTO providers (location_id, provider_id, roles, operatory_ids, updated_at)
                SELECT $1, p, ARRAY(SELECT jsonb_array_elements_text(r)), ARRAY(SELECT jsonb_array_elements_text(o)), $5
                FROM unnest($2::text[], $3::jsonb[], $4::jsonb[]) AS u(p, r, o)
                ON CONFLICT (location_id, provider_id) DO UPDATE SET roles = EXCLUDED.roles, operatory_ids = EXCLUDED.operatory_ids,
                    updated_at = EXCLUDED.updated_at
                """,
                loc, providers.map { $0["id"]!.stringValue! }, providers.map { PostgresJSON(($0["roles"] ?? []).serialized()) },
                providers.map { PostgresJSON(($0["operatory_ids"] ?? []).serialized()) }, now)
        }
        // Providers named only in blocks still need a row (no roles known yet).
        _ = try await tx.execute(
            """
            INSERT INTO providers (location_id, provider_id, updated_at) SELECT DISTINCT $1, unnest($2::text[]), $3
            ON CONFLICT DO NOTHING
            """, loc, bp, now)
        _ = try await tx.execute(
            """
            INSERT INTO schedule_blocks (location_id, provider_id, during, operatory_ids, changed_at)
            SELECT $1, p, tstzrange(s, e), ARRAY(SELECT jsonb_array_elements_text(o)), $6
            FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::jsonb[]) AS u(p, s, e, o)
            """, loc, bp, bs, be, bo, changedAt)
        if !outs.isEmpty {
            _ = try await tx.execute(
                """
                INSERT INTO blockouts (location_id, provider_id, during, kind, operatory_ids, changed_at)
                SELECT $1, p, tstzrange(s, e), k, ARRAY(SELECT jsonb_array_elements_text(o)), $7
                FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[]) AS u(p, s, e, k, o)
                """, loc, op, os, oe, ok, oo, changedAt)
        }
        try await bumpCalendars([loc], in: tx)
        return true
    }

    /// Upserts PMS appointments (newest change wins) and releases PlanRouter holds they collide with.
    static func applyAppointments(_ events: [IncomingEvent], in tx: PostgresConnection, now: Date) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var latest: [String: (IncomingEvent, AppointmentTimes, Date)] = [:]
        for e in events {
            let d = e.event.data
            let start = RFC3339.parse(d["start"]!.stringValue!)!
            guard let times = AppointmentTimes(start: start, lengthMinutes: d["length_minutes"]?.intValue, pattern: d["pattern"]?.stringValue)
            else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: needs length_minutes or pattern"))
                continue
            }
            let changed = RFC3339.parse(d["changed_at"]!.stringValue!)!
            let key = d["location_id"]!.stringValue! + "\u{1F}" + d["appointment_id"]!.stringValue!
            if let prev = latest[key], prev.2 > changed { continue }
            latest[key] = (e, times, changed)
        }
        let items = Array(latest.values)
        guard !items.isEmpty else { return letters }
        var locations: [String: String] = [:]
        for i in items { locations[i.0.event.data["location_id"]!.stringValue!] = i.0.event.data["organization_id"]!.stringValue! }
        for (loc, org) in locations.sorted(by: { $0.key < $1.key }) { try await ensureLocation(org: org, location: loc, in: tx) }
        func s(_ k: String) -> [String] { items.map { $0.0.event.data[k]!.stringValue! } }
        func o(_ k: String) -> [String?] { items.map { $0.0.event.data[k]?.stringValue } }
        let rows = try await tx.query(
            """
            INSERT INTO reservations (location_id, provider_id, operatory_id, during, operatory_during, kind, active, organization_id,
                                      plan_id, patient_id, appointment_id, status, changed_at, created_at)
            SELECT l, p, op, tstzrange(ps, pe), tstzrange(cs, ce), 'pms', st IN ('scheduled', 'completed'), org, pl, pat, a, st, ch, $14
            FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])
                 AS u(l, p, op, ps, pe, cs, ce, org, pl, pat, a, st, ch)
            ON CONFLICT (location_id, appointment_id) WHERE kind = 'pms' DO UPDATE SET
                provider_id = EXCLUDED.provider_id, operatory_id = EXCLUDED.operatory_id, during = EXCLUDED.during,
                operatory_during = EXCLUDED.operatory_during, active = EXCLUDED.active, plan_id = EXCLUDED.plan_id,
                patient_id = EXCLUDED.patient_id, status = EXCLUDED.status, changed_at = EXCLUDED.changed_at
            WHERE reservations.changed_at <= EXCLUDED.changed_at
            RETURNING id
            """,
            s("location_id"), s("provider_id"), o("operatory_id"), items.map(\.1.provider.start), items.map(\.1.provider.end),
            items.map(\.1.chair.start), items.map(\.1.chair.end), s("organization_id"), o("plan_id"), s("patient_id"),
            s("appointment_id"), s("status"), items.map(\.2), now)
        let ids = try rows.map { try $0.decode(0, as: Int64.self) }
        // The PMS's calendar is the truth: a hold it now collides with is released (the case gets fresh openings later).
        _ = try await tx.execute(
            """
            UPDATE reservations h SET active = false, released_at = $2, release_reason = 'taken_in_pms'
            FROM reservations p
            WHERE p.id = ANY($1::int8[]) AND p.active AND h.kind = 'hold' AND h.active
              -- The keys are what the exclusion constraints' indexes answer (migration 0006); the
              -- ids are compared too, so a hash collision never releases another resource's hold.
              AND ((h.provider_key = p.provider_key AND h.during && p.during
                    AND h.location_id = p.location_id AND h.provider_id = p.provider_id)
                   OR (h.operatory_id IS NOT NULL AND h.operatory_key = p.operatory_key AND h.operatory_during && p.operatory_during
                       AND h.location_id = p.location_id AND h.operatory_id = p.operatory_id))
            """, ids, now)
        try await bumpCalendars(Array(Set(s("location_id"))), in: tx)
        return letters
    }

    static func ensureLocation(org: String, location: String, in tx: PostgresConnection) async throws {
        _ = try await tx.execute("INSERT INTO organizations (id) VALUES ($1) ON CONFLICT DO NOTHING", org)
        _ = try await tx.execute("INSERT INTO locations (id, organization_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", location, org)
    }

    static func bumpCalendars(_ locations: [String], in tx: PostgresConnection) async throws {
        guard !locations.isEmpty else { return }
        _ = try await tx.execute(
            "UPDATE locations SET calendar_version = calendar_version + 1 WHERE id = ANY($1::text[])", locations.sorted())
    }
}
