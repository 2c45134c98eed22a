import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Mirrors the PMS's calendars into PostgreSQL: schedule.changed replaces a
/// location's blocks and blockouts for a date range; appointment.changed upserts
/// PMS appointments as busy time. Both bump the location's calendar_version, and both
/// release, in the same transaction, the holds the new calendar no longer allows (the
/// cases they belonged to are returned, to be re-offered).
enum AvailabilityMirror {
    /// What applying one schedule.changed did.
    struct ScheduleApplied {
        /// False when a newer schedule already covers the range (nothing was written but the sync time).
        var applied: Bool
        /// Cases whose holds the new schedule released (outside the hours, or under a blockout).
        var released: [ReleasedHold]
    }

    /// Applies one schedule.changed.
    static func applySchedule(_ e: IncomingEvent, in tx: PostgresConnection, now: Date) async throws -> ScheduleApplied {
        let s = try e.event.decode(ScheduleChanged.self)
        // Check everything first: a rejected event must leave no partial writes.
        var scheduled: [ScheduleRange] = []
        for b in s.blocks {
            guard b.end > b.start else { throw EventRejection(.invalidData, "/data/blocks: a block ends before it starts") }
            scheduled.append(ScheduleRange(providerID: b.providerID, start: b.start, end: b.end, operatoryIDs: strings(b.operatoryIDs)))
        }
        var blockouts: [ScheduleRange] = []
        for b in s.blockouts ?? [] {
            guard b.end > b.start else { throw EventRejection(.invalidData, "/data/blockouts: a blockout ends before it starts") }
            blockouts.append(
                ScheduleRange(providerID: b.providerID, start: b.start, end: b.end, kind: b.type, operatoryIDs: strings(b.operatoryIDs)))
        }
        if let zone = s.timeZone, TimeZone(identifier: zone) == nil {
            throw EventRejection(.invalidData, "/data/time_zone: unknown IANA time zone")
        }
        if s.from > s.to { throw EventRejection(.invalidData, "/data/from: after /data/to") }
        // The organization named in the event: the location's rows are those of (organization, location) only.
        let loc = LocationKey(organizationID: s.organizationID, locationID: s.locationID)
        try await LocationsRepository.ensure(loc, on: tx)
        if let tz = s.timeZone { try await LocationsRepository.setTimeZone(tz, location: loc, on: tx) }
        // Any schedule.changed received shows the connector is syncing this location's calendar.
        try await LocationsRepository.markScheduleSynced(loc, now: now, on: tx)
        let from = s.from.description
        let to = s.to.description
        if try await AvailabilityRepository.newerScheduleExists(location: loc, from: from, to: to, changedAt: s.changedAt, on: tx) {
            return ScheduleApplied(applied: false, released: [])
        }
        try await AvailabilityRepository.clearSchedule(location: loc, from: from, to: to, on: tx)
        if let providers = s.providers, !providers.isEmpty {
            try await AvailabilityRepository.upsertProviders(
                providers.map {
                    ProviderRow(
                        providerID: $0.id, roles: .array(($0.roles ?? []).map { .string($0.rawValue) }),
                        operatoryIDs: strings($0.operatoryIDs))
                },
                location: loc, now: now, on: tx)
        }
        // Providers named only in blocks still need a row (no roles known yet).
        try await AvailabilityRepository.ensureProviders(scheduled.compactMap(\.providerID), location: loc, now: now, on: tx)
        try await AvailabilityRepository.insertBlocks(scheduled, location: loc, changedAt: s.changedAt, on: tx)
        try await AvailabilityRepository.insertBlockouts(blockouts, location: loc, changedAt: s.changedAt, on: tx)
        // Holds the new hours or blockouts no longer allow are released now, not found out at booking.
        let released = try await ReservationsRepository.releaseHoldsOutsideSchedule(location: loc, from: from, to: to, now: now, on: tx)
        try await LocationsRepository.bumpCalendars([loc], on: tx)
        return ScheduleApplied(applied: true, released: released)
    }

    static func strings(_ values: [String]?) -> JSONValue { .array((values ?? []).map { .string($0) }) }

    /// Upserts PMS appointments (newest change wins) and releases PlanRouter holds they collide with.
    static func applyAppointments(
        _ events: [IncomingEvent], in tx: PostgresConnection, now: Date
    ) async throws -> (letters: [DeadLetter], released: [ReleasedHold]) {
        var letters: [DeadLetter] = []
        var latest: [AppointmentKey: (AppointmentChanged, AppointmentTimes)] = [:]
        for e in events {
            let a: AppointmentChanged
            switch e.decoded(AppointmentChanged.self) {
            case .success(let value): a = value
            case .failure(let r):
                letters.append(DeadLetter(message: e.message, kind: r.kind.rawValue, reason: r.reason))
                continue
            }
            guard let times = AppointmentTimes(start: a.start, lengthMinutes: a.lengthMinutes, pattern: a.pattern) else {
                letters.append(DeadLetter(message: e.message, kind: "invalid_data", reason: "/data: needs length_minutes or pattern"))
                continue
            }
            let key = AppointmentKey(
                location: LocationKey(organizationID: a.organizationID, locationID: a.locationID), appointmentID: a.appointmentID)
            if let prev = latest[key], prev.0.changedAt > a.changedAt { continue }
            latest[key] = (a, times)
        }
        let items = Array(latest.values)
        guard !items.isEmpty else { return (letters, []) }
        let locations = Set(items.map { a, _ in LocationKey(organizationID: a.organizationID, locationID: a.locationID) })
        try await LocationsRepository.ensure(locations: Array(locations), on: tx)
        let ids = try await ReservationsRepository.upsertPMSAppointments(
            items.map { a, times in
                PMSAppointmentRow(
                    organizationID: a.organizationID, locationID: a.locationID, providerID: a.providerID, operatoryID: a.operatoryID,
                    planID: a.planID, patientID: a.patientID, appointmentID: a.appointmentID, status: a.status.rawValue,
                    providerTime: (times.provider.start, times.provider.end), chairTime: (times.chair.start, times.chair.end),
                    changedAt: a.changedAt)
            }, now: now, on: tx)
        // The PMS's calendar is the truth: a hold it now collides with is released (the case is re-offered).
        let released = try await ReservationsRepository.releaseHoldsTakenInPMS(ids, now: now, on: tx)
        try await LocationsRepository.bumpCalendars(Array(locations), on: tx)
        return (letters, released)
    }

    /// A PMS appointment by its location and id.
    struct AppointmentKey: Hashable {
        var location: LocationKey
        var appointmentID: String
    }
}
