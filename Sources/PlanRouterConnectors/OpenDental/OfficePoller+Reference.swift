import Foundation
import PlanRouterCore
import PlanRouterStore

extension OfficePoller {
    /// Schedules (provider hours, blockouts), providers and operatories for the next
    /// `scheduleDays` days as one schedule.changed per location. Its id is a digest of the
    /// content, so an unchanged schedule polled again is not published again.
    @discardableResult
    public func pollReference() async throws -> Result {
        let now = try await clock.now()
        let zone = office.timeZone
        let today = LocalTimestamp(now, in: zone)
        let from = today.dateText
        let to = today.adding(seconds: Int64(max(1, office.scheduleDays) - 1) * 86_400).dateText
        let providers = try await client.list("/providers")
        let specialties = try await specialtyNames()
        let operatories = try await client.list("/operatories")
        let schedules = try await client.list("/schedules", [("dateStart", from), ("dateEnd", to)])
        var batch = OfficeBatch()

        // Operatory -> location; a provider's default operatories are those naming them.
        var opLocation: [Int64: String] = [:]
        var providerOps: [Int64: [Int64]] = [:]
        for op in operatories where op.odString("IsHidden") != "true" {
            guard let n = op.odInt("OperatoryNum"), let loc = office.location(clinic: op.odInt("ClinicNum") ?? 0) else { continue }
            opLocation[n] = loc
            for p in [op.odInt("ProvDentist"), op.odInt("ProvHygienist")].compactMap({ $0 }) where p > 0 {
                providerOps[p, default: []].append(n)
            }
        }
        var byLocation: [String: (blocks: [ScheduleChanged.Block], blockouts: [ScheduleChanged.Blockout], providers: Set<Int64>)] = [:]
        for loc in office.locations { byLocation[loc] = ([], [], []) }
        for row in schedules {
            guard let date = row.odString("SchedDate"), let startText = row.odString("StartTime"), let stopText = row.odString("StopTime"),
                let start = LocalTimestamp("\(date) \(startText)"), let stop = LocalTimestamp("\(date) \(stopText)"), stop > start
            else { continue }
            let ops = (row.odString("operatories") ?? "").split(separator: ",").compactMap {
                Int64($0.trimmingCharacters(in: .whitespaces))
            }
            let prov = row.odInt("ProvNum") ?? 0
            // Where it applies: its operatories' locations; a provider's hours with none apply where the provider works.
            var locations = Set(ops.compactMap { opLocation[$0] })
            if locations.isEmpty { locations = Set((providerOps[prov] ?? []).compactMap { opLocation[$0] }) }
            if locations.isEmpty { locations = office.locations.count == 1 ? office.locations : [] }
            for loc in locations {
                let opIDs = ops.filter { opLocation[$0] == loc }.map(office.operatoryID)
                switch row.odString("SchedType") ?? "" {
                case "Provider" where prov > 0:
                    byLocation[loc]?.blocks.append(
                        ScheduleChanged.Block(
                            providerID: office.providerID(prov), start: start.instant(in: zone), end: stop.instant(in: zone),
                            operatoryIDs: opIDs.isEmpty ? nil : opIDs))
                    byLocation[loc]?.providers.insert(prov)
                case "Blockout" where (row.odString("Note") ?? "").contains(HoldBlockouts.markerPrefix):
                    // PlanRouter's own hold blockouts: the holds are in PlanRouter already (they would block themselves).
                    continue
                case "Blockout":
                    byLocation[loc]?.blockouts.append(
                        ScheduleChanged.Blockout(
                            start: start.instant(in: zone), end: stop.instant(in: zone),
                            type: Self.blockoutType(row.odString("blockoutType")),
                            operatoryIDs: opIDs.isEmpty ? nil : opIDs))
                default: continue
                }
            }
        }
        let roles = Dictionary(
            providers.compactMap { p in
                p.odInt("ProvNum").map {
                    (
                        $0,
                        Self.role(
                            secondary: p.odString("IsSecondary") == "true", specialty: p.odInt("Specialty").flatMap { specialties[$0] })
                    )
                }
            },
            uniquingKeysWith: { a, _ in a })
        guard let fromDate = LocalDate(from), let toDate = LocalDate(to) else { return Result() }
        for (loc, content) in byLocation.sorted(by: { $0.key < $1.key }) {
            let provs = content.providers.union(providerOps.filter { $0.value.contains { opLocation[$0] == loc } }.keys).sorted().map { p in
                ScheduleChanged.Provider(
                    id: office.providerID(p), roles: [roles[p] ?? .dentist],
                    operatoryIDs: (providerOps[p] ?? []).filter { opLocation[$0] == loc }.map(office.operatoryID))
            }
            var event = ScheduleChanged(
                organizationID: office.organizationID, locationID: loc, changedAt: now, timeZone: zone.identifier, from: fromDate,
                to: toDate,
                providers: provs.isEmpty ? nil : provs, blocks: content.blocks,
                blockouts: content.blockouts.isEmpty ? nil : content.blockouts)
            let digest = OfficeBatch.fnv(event.data.serialized().replacingOccurrences(of: RFC3339.format(now), with: ""))
            event.changedAt = now
            batch.append(
                event, id: "\(office.id)-schedule-\(loc)-\(from)-\(digest)", source: office.source, time: now, subject: nil, topics: topics,
                office: office.id)
        }
        let written = try await batch.commit(key, pool: pool, now: now)
        return Result(events: written.events, deadLetters: written.deadLetters)
    }

    /// The names of the office's provider specialties by DefNum: a provider's `Specialty` is a definition of
    /// category 35 (ProviderSpecialties). An API that refuses the call (an older version, a key without the
    /// permission) leaves the roles to `IsSecondary` alone; other failures fail the poll, as the other lists do.
    func specialtyNames() async throws(OpenDentalError) -> [Int64: String] {
        do {
            let defs = try await client.list("/definitions", [("Category", "35")])
            return Dictionary(
                defs.compactMap { d in d.odInt("DefNum").flatMap { n in d.odString("ItemName").map { (n, $0) } } },
                uniquingKeysWith: { a, _ in a })
        } catch let e where e.kind == .refused {
            return [:]
        }
    }

    /// A provider's role: a specialty naming surgery ("Oral Surgery", "Oral and Maxillofacial Surgery") is the
    /// surgeon; otherwise secondary providers are hygienists and the others dentists.
    static func role(secondary: Bool, specialty: String?) -> ProviderRole {
        if let s = specialty?.lowercased(), s.contains("surg") { return .oralSurgeon }
        return secondary ? .hygienist : .dentist
    }

    /// Our blockout type from Open Dental's definition name: "Do not schedule" -> `do_not_schedule`.
    static func blockoutType(_ name: String?) -> String {
        let words = (name ?? "").lowercased().split { !$0.isLetter && !$0.isNumber }
        return words.isEmpty ? "do_not_schedule" : words.joined(separator: "_")
    }
}
