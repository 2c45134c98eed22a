import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// Holds visible to the front desk: each live hold (an opening offered to a patient) of an
/// office with a "PlanRouter hold" blockout definition (`hold_blockout_type`) is shown as an
/// Open Dental blockout on its operatory and time, and deleted when the hold ends (booked,
/// released, expired). The write-back worker reconciles it every round from the holds
/// themselves (no topic to lose): a `pms_hold_blockouts` row is written before the POST, and
/// a retry first looks for the blockout its Note marks, so each hold makes one blockout.
enum HoldBlockouts {
    static let markerPrefix = "PlanRouter hold "
    static func marker(_ reservationID: Int64) -> String { markerPrefix + String(reservationID) }
}

extension WritebackWorker {
    /// One reconciliation of an office's hold blockouts; returns how many were created or removed.
    @discardableResult
    func syncHoldBlockouts(_ office: OpenDentalOffice, client: OpenDentalClient) async throws -> Int {
        guard let definition = office.holdBlockoutType else { return 0 }
        let now = try await clock.now()
        let create = try await pool.withTransaction { tx in
            try await HoldBlockoutsRepository.toCreate(
                organizationID: office.organizationID, connector: "opendental", officeID: office.id, locations: Array(office.locations),
                now: now, on: tx)
        }
        let remove = try await pool.withConnection { conn in
            try await HoldBlockoutsRepository.toRemove(organizationID: office.organizationID, officeID: office.id, now: now, on: conn)
        }
        var done = 0
        do {
            for h in create {
                guard let op = office.number(in: h.operatoryID, kind: "op") else { continue }
                var num = try await existing(h, office: office, client: client)
                if num == nil { num = try await post(h, op: op, definition, office, client) }
                try await pool.withConnection {
                    try await HoldBlockoutsRepository.created(
                        organizationID: office.organizationID, reservationID: h.reservationID, scheduleNum: num!, now: now, on: $0)
                }
                done += 1
            }
            for h in remove {
                // A create whose answer was lost has no number yet: its blockout is found by the marker.
                var num = h.scheduleNum
                if num == nil { num = try await existing(h, office: office, client: client) }
                if let num { try await deleteBlockout(num, client: client) }
                try await pool.withConnection {
                    try await HoldBlockoutsRepository.removed(
                        organizationID: office.organizationID, reservationID: h.reservationID, now: now, on: $0)
                }
                done += 1
            }
        } catch let e as OpenDentalError {
            // The next round carries on from the rows: nothing is made twice or left behind.
            logger.warning(
                "hold blockouts: Open Dental failed; will retry", metadata: ["connector.office": "\(office.id)", "error": "\(e)"])
            pausedUntil.withLock { $0[office.id] = .now + .seconds(5) }
        }
        return done
    }

    /// Deletes a blockout; one deleted in Open Dental already (by the front desk) is as good.
    func deleteBlockout(_ num: Int64, client: OpenDentalClient) async throws(OpenDentalError) {
        do { try await client.delete("/schedules/\(num)") } catch {
            if error.status != 404 { throw error }
        }
    }

    /// The blockout an earlier attempt made for this hold, by the marker in its Note.
    func existing(_ h: HoldBlockout, office: OpenDentalOffice, client: OpenDentalClient) async throws(OpenDentalError) -> Int64? {
        let day = LocalTimestamp(h.start, in: office.timeZone).dateText
        let rows = try await client.list("/schedules", [("date", day), ("SchedType", "Blockout")])
        let marker = HoldBlockouts.marker(h.reservationID)
        return rows.first { ($0.odString("Note") ?? "").trimmingCharacters(in: .whitespaces) == marker }?.odInt("ScheduleNum")
    }

    func post(
        _ h: HoldBlockout, op: Int64, _ definition: Int64, _ office: OpenDentalOffice, _ client: OpenDentalClient
    ) async throws(OpenDentalError) -> Int64 {
        let start = LocalTimestamp(h.start, in: office.timeZone)
        let stop = LocalTimestamp(h.end, in: office.timeZone)
        var body = JSONObjectBuilder()
        body.set("SchedDate", start.dateText)
        body.set("StartTime", String(start.description.suffix(8)))
        body.set("StopTime", String(stop.description.suffix(8)))
        body.set("SchedType", "Blockout")
        body.set("BlockoutType", definition)
        body.set("operatories", String(op))
        body.set("Note", HoldBlockouts.marker(h.reservationID))
        let created = try await client.post("/schedules", body.value)
        guard let num = created.odInt("ScheduleNum") else {
            throw OpenDentalError(kind: .malformed, status: 201, message: "POST /schedules: no ScheduleNum")
        }
        return num
    }
}
