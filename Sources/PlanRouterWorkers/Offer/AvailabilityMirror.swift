import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

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
        var scheduled: [ScheduleRange] = []
        for b in blocks {
            let s = RFC3339.parse(b["start"]!.stringValue!)!, en = RFC3339.parse(b["end"]!.stringValue!)!
            guard en > s else { throw EventRejection(.invalidData, "/data/blocks: a block ends before it starts") }
            scheduled.append(ScheduleRange(providerID: b["provider_id"]!.stringValue!, start: s, end: en, operatoryIDs: b["operatory_ids"] ?? []))
        }
        let outs = d["blockouts"]?.arrayValue ?? []
        var blockouts: [ScheduleRange] = []
        for b in outs {
            let s = RFC3339.parse(b["start"]!.stringValue!)!, en = RFC3339.parse(b["end"]!.stringValue!)!
            guard en > s else { throw EventRejection(.invalidData, "/data/blockouts: a blockout ends before it starts") }
            blockouts.append(
                ScheduleRange(providerID: b["provider_id"]?.stringValue, start: s, end: en, kind: b["type"]!.stringValue!, operatoryIDs: b["operatory_ids"] ?? []))
        }
        let zone = d["time_zone"]?.stringValue
        if let zone, TimeZone(identifier: zone) == nil { throw EventRejection(.invalidData, "/data/time_zone: unknown IANA time zone") }
        if d["from"]!.stringValue! > d["to"]!.stringValue! { throw EventRejection(.invalidData, "/data/from: after /data/to") }
        try await LocationsRepository.ensure(organization: org, location: loc, on: tx)
        if let tz = zone { try await LocationsRepository.setTimeZone(tz, location: loc, on: tx) }
        let from = d["from"]!.stringValue!
        let to = d["to"]!.stringValue!
        if try await AvailabilityRepository.newerScheduleExists(location: loc, from: from, to: to, changedAt: changedAt, on: tx) { return false }
        try await AvailabilityRepository.clearSchedule(location: loc, from: from, to: to, on: tx)
        if let providers = d["providers"]?.arrayValue, !providers.isEmpty {
            try await AvailabilityRepository.upsertProviders(
                providers.map { ProviderRow(providerID: $0["id"]!.stringValue!, roles: $0["roles"] ?? [], operatoryIDs: $0["operatory_ids"] ?? []) },
                location: loc, now: now, on: tx)
        }
        // Providers named only in blocks still need a row (no roles known yet).
        try await AvailabilityRepository.ensureProviders(scheduled.compactMap(\.providerID), location: loc, now: now, on: tx)
        try await AvailabilityRepository.insertBlocks(scheduled, location: loc, changedAt: changedAt, on: tx)
        try await AvailabilityRepository.insertBlockouts(blockouts, location: loc, changedAt: changedAt, on: tx)
        try await LocationsRepository.bumpCalendars([loc], on: tx)
        return true
    }

    /// Upserts PMS appointments (newest change wins) and releases PlanRouter holds they collide with.
    static func applyAppointments(_ events: [IncomingEvent], in tx: PostgresConnection, now: Date) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var latest: [AppointmentKey: (IncomingEvent, AppointmentTimes, Date)] = [:]
        for e in events {
            let d = e.event.data
            let start = RFC3339.parse(d["start"]!.stringValue!)!
            guard let times = AppointmentTimes(start: start, lengthMinutes: d["length_minutes"]?.intValue, pattern: d["pattern"]?.stringValue)
            else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: needs length_minutes or pattern"))
                continue
            }
            let changed = RFC3339.parse(d["changed_at"]!.stringValue!)!
            let key = AppointmentKey(locationID: d["location_id"]!.stringValue!, appointmentID: d["appointment_id"]!.stringValue!)
            if let prev = latest[key], prev.2 > changed { continue }
            latest[key] = (e, times, changed)
        }
        let items = Array(latest.values)
        guard !items.isEmpty else { return letters }
        var locations: [String: String] = [:]
        for i in items { locations[i.0.event.data["location_id"]!.stringValue!] = i.0.event.data["organization_id"]!.stringValue! }
        for (loc, org) in locations.sorted(by: { $0.key < $1.key }) { try await LocationsRepository.ensure(organization: org, location: loc, on: tx) }
        func s(_ k: String) -> [String] { items.map { $0.0.event.data[k]!.stringValue! } }
        let ids = try await ReservationsRepository.upsertPMSAppointments(
            items.map { e, times, changed in
                let d = e.event.data
                return PMSAppointmentRow(
                    organizationID: d["organization_id"]!.stringValue!, locationID: d["location_id"]!.stringValue!,
                    providerID: d["provider_id"]!.stringValue!, operatoryID: d["operatory_id"]?.stringValue, planID: d["plan_id"]?.stringValue,
                    patientID: d["patient_id"]!.stringValue!, appointmentID: d["appointment_id"]!.stringValue!, status: d["status"]!.stringValue!,
                    providerTime: (times.provider.start, times.provider.end), chairTime: (times.chair.start, times.chair.end), changedAt: changed)
            }, now: now, on: tx)
        // The PMS's calendar is the truth: a hold it now collides with is released (the case gets fresh openings later).
        try await ReservationsRepository.releaseHoldsTakenInPMS(ids, now: now, on: tx)
        try await LocationsRepository.bumpCalendars(Array(Set(s("location_id"))), on: tx)
        return letters
    }

    /// A PMS appointment by its location and id.
    struct AppointmentKey: Hashable {
        var locationID: String
        var appointmentID: String
    }
}
