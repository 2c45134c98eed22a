import Foundation
import PlanRouterCore

/// An answer of the emulated API.
public struct EmulatorResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String

    static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> EmulatorResponse {
        EmulatorResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.serialized())
    }
    /// Open Dental answers errors with an explanation in the body.
    static func error(_ status: Int, _ text: String, headers: [(String, String)] = []) -> EmulatorResponse {
        EmulatorResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: JSONValue.string(text).serialized())
    }
}

extension OpenDentalEmulator {
    /// One request to `/api/v1/<path>`: the ODFHIR header check, an injected fault if one
    /// matches, then the resource.
    public func handle(method: String, path: String, query: [String: String], authorization: String?, body: [UInt8]) -> EmulatorResponse {
        guard let key = customerKey(authorization) else {
            return .error(401, "Invalid Authorization header: expected ODFHIR {DeveloperKey}/{CustomerKey}")
        }
        let fault = state.withLock { s -> Fault? in
            s.requests[key, default: 0] += 1
            if method == "GET" && path == "/treatplans" && query["SecDateTEdit"] != nil { s.pollStarts[key, default: 0] += 1 }
            if method == "GET" && path == "/providers" { s.referenceStarts[key, default: 0] += 1 }
            guard
                let i = s.faults.firstIndex(where: {
                    $0.remaining > 0 && ($0.customerKey ?? key) == key && ($0.method ?? method) == method
                        && path.hasPrefix($0.pathPrefix ?? "")
                })
            else { return nil }
            s.faults[i].remaining -= 1
            return s.faults[i]
        }
        if let fault, !fault.afterCommit { return Self.answer(fault) }
        let response: EmulatorResponse
        do {
            response = try route(method: method, path: path, query: query, body: body, office: key)
        } catch let e as BadRequest {
            response = .error(e.status, e.text)
        } catch {
            response = .error(500, "\(error)")
        }
        if let fault { return Self.answer(fault) }
        return response
    }

    static func answer(_ f: Fault) -> EmulatorResponse {
        let headers = f.retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
        return .error(f.status, f.status == 429 ? "Too many requests" : "Emulated failure", headers: headers)
    }

    /// The office of an `ODFHIR {DeveloperKey}/{CustomerKey}` header, if both keys are valid and enabled.
    func customerKey(_ header: String?) -> String? {
        guard let header, header.hasPrefix("ODFHIR ") else { return nil }
        let keys = header.dropFirst("ODFHIR ".count).split(separator: "/", maxSplits: 1).map(String.init)
        guard keys.count == 2, keys[0] == developerKey else { return nil }
        return state.withLock { $0.offices[keys[1]]?.enabled == true } ? keys[1] : nil
    }

    struct BadRequest: Error {
        var status = 400
        var text: String
    }

    func route(method: String, path: String, query q: [String: String], body: [UInt8], office key: String) throws -> EmulatorResponse {
        guard let o = office(key) else { throw BadRequest(status: 401, text: "unknown customer key") }
        let zone = o.timeZone
        let server = now
        let offset =
            try q["Offset"].map { v throws(BadRequest) -> Int in
                guard let i = Int(v), i >= 0 else { throw BadRequest(text: "Offset must be a non-negative integer") }
                return i
            } ?? 0
        // Rows become JSON after paging: one page of a 2,000-row list then costs 100 rows' JSON, not 2,000.
        func page<Row>(_ rows: [Row], _ json: (Row) -> JSONValue) -> EmulatorResponse {
            .json(200, .array(rows.dropFirst(offset).prefix(Self.pageSize).map(json)))
        }
        func int(_ name: String) throws -> Int64? {
            guard let v = q[name] else { return nil }
            guard let i = Int64(v) else { throw BadRequest(text: "\(name) must be an integer") }
            return i
        }
        func stamp(_ name: String) throws -> LocalTimestamp? {
            guard let v = q[name] else { return nil }
            guard let t = LocalTimestamp(v) else { throw BadRequest(text: "\(name) must be in yyyy-MM-dd HH:mm:ss format") }
            return t
        }
        // Open Dental stores local wall times and compares them as written (no zone): a change
        // in the second pass of a fall-back hour can read earlier than one before it.
        func since(_ date: Date, _ t: LocalTimestamp?) -> Bool { t.map { LocalTimestamp(date, in: zone) >= $0 } ?? true }

        switch (method, path) {
        case ("GET", "/treatplans"):
            let pat = try int("PatNum")
            let edited = try stamp("SecDateTEdit")
            let status = q["TPStatus"]
            return page(
                o.treatPlans.values.filter {
                    (pat ?? $0.patNum) == $0.patNum && since($0.secDateTEdit, edited) && (status ?? $0.tpStatus) == $0.tpStatus
                }.sorted { $0.treatPlanNum < $1.treatPlanNum }
            ) { $0.json(in: zone) }
        case ("GET", "/proctps"):
            guard let plan = try int("TreatPlanNum") else { throw BadRequest(text: "TreatPlanNum is required") }
            return page(
                o.procTPs.values.filter { $0.treatPlanNum == plan }.sorted { $0.procTPNum < $1.procTPNum }
            ) { $0.json(in: zone) }
        case ("GET", "/treatplanattaches"):
            guard let plan = try int("TreatPlanNum") else { throw BadRequest(text: "TreatPlanNum is required") }
            guard o.treatPlans[plan] != nil else { throw BadRequest(status: 404, text: "TreatPlan not found") }
            return page(
                o.attaches.values.filter { $0.treatPlanNum == plan }.sorted { $0.treatPlanAttachNum < $1.treatPlanAttachNum }, \.json)
        case ("GET", "/procedurelogs"):
            let pat = try int("PatNum")
            let apt = try int("AptNum")
            let planned = try int("PlannedAptNum")
            let changed = try stamp("DateTStamp")
            let status = q["ProcStatus"]
            return page(
                o.procedures.values.filter {
                    (pat ?? $0.patNum) == $0.patNum && (apt ?? $0.aptNum) == $0.aptNum && (planned ?? $0.plannedAptNum) == $0.plannedAptNum
                        && (status ?? $0.procStatus) == $0.procStatus && since($0.dateTStamp, changed)
                }.sorted { $0.procNum < $1.procNum }
            ) { $0.json(in: zone, server: server) }
        case ("GET", "/appointments"):
            return page(try appointments(o, q, stamp: try stamp("DateTStamp"))) { appointmentJSON($0, in: o, server: server) }
        case ("POST", "/appointments"):
            return try createAppointment(key, body: body)
        case ("PUT", _) where path.hasPrefix("/appointments/"):
            guard let n = Int64(path.dropFirst("/appointments/".count)) else { throw BadRequest(text: "AptNum must be a number") }
            return try updateAppointment(key, n, body: body)
        case ("GET", "/schedules"):
            let day = q["date"] ?? LocalTimestamp(server, in: zone).dateText
            let from = q["dateStart"] ?? day
            let to = q["dateEnd"] ?? day
            let type = q["SchedType"]
            let prov = try int("ProvNum")
            return page(
                o.schedules.values.filter {
                    $0.schedDate >= from && $0.schedDate <= to && (type ?? $0.schedType) == $0.schedType
                        && (prov ?? $0.provNum) == $0.provNum
                }.sorted { ($0.schedDate, $0.startTime, $0.scheduleNum) < ($1.schedDate, $1.startTime, $1.scheduleNum) }
            ) { $0.json(in: zone) }
        case ("POST", "/schedules"):
            return try createBlockout(key, body: body)
        case ("DELETE", _) where path.hasPrefix("/schedules/"):
            guard let n = Int64(path.dropFirst("/schedules/".count)) else { throw BadRequest(text: "ScheduleNum must be a number") }
            try mutate(key) { o, _ in
                guard o.schedules.removeValue(forKey: n) != nil else { throw BadRequest(status: 404, text: "Schedule not found") }
            }
            return .json(200, .null)
        case ("GET", "/operatories"):
            let clinic = try int("ClinicNum")
            return page(
                o.operatories.values.filter { (clinic ?? $0.clinicNum) == $0.clinicNum }.sorted { $0.operatoryNum < $1.operatoryNum },
                \.json)
        case ("GET", "/providers"):
            let changed = try stamp("DateTStamp")
            return page(
                o.providers.values.filter { since($0.dateTStamp, changed) }.sorted { $0.provNum < $1.provNum }
            ) { $0.json(in: zone, server: server) }
        case ("GET", "/definitions"):
            // Only the ProviderSpecialties category is emulated; another category is an empty list.
            let category = try int("Category")
            guard category == nil || category == ODDefinition.providerSpecialtiesCategory else { return .json(200, .array([])) }
            return .json(200, .array(ODDefinition.providerSpecialties.enumerated().map { $1.json(order: $0) }))
        case ("GET", "/patients/Simple"):
            let changed = try stamp("DateTStamp")
            let pat = try int("PatNum")
            return page(
                o.patients.values.filter { since($0.dateTStamp, changed) && (pat ?? $0.patNum) == $0.patNum }.sorted {
                    $0.patNum < $1.patNum
                }
            ) { $0.json(in: zone) }
        case ("GET", _) where path.hasPrefix("/patients/"):
            guard let n = Int64(path.dropFirst("/patients/".count)), let p = o.patients[n] else {
                throw BadRequest(status: 404, text: "Patient not found")
            }
            return .json(200, p.json(in: zone))
        default:
            return .error(404, "Resource not found")
        }
    }

    func appointments(_ o: Office, _ q: [String: String], stamp: LocalTimestamp?) throws -> [ODAppointment] {
        let zone = o.timeZone
        let pat = q["PatNum"].flatMap { Int64($0) }
        let op = q["Op"].flatMap { Int64($0) }
        let from = q["dateStart"] ?? q["date"]
        let to = q["dateEnd"] ?? q["date"]
        return o.appointments.values.filter { a in
            let local = LocalTimestamp(a.aptDateTime, in: zone)
            return (pat ?? a.patNum) == a.patNum && (op ?? a.op) == a.op && (q["AptStatus"] ?? a.aptStatus) == a.aptStatus
                && (from.map { local.dateText >= $0 } ?? true) && (to.map { local.dateText <= $0 } ?? true)
                && (stamp.map { LocalTimestamp(a.dateTStamp, in: zone) >= $0 } ?? true)
        }.sorted { $0.aptNum < $1.aptNum }
    }

    func appointmentJSON(_ a: ODAppointment, in o: Office, server: Date) -> JSONValue {
        let codes = o.procedures.values.filter { $0.aptNum == a.aptNum || $0.plannedAptNum == a.aptNum }.map(\.procCode).sorted()
        return a.json(in: o.timeZone, server: server, procDescript: codes.joined(separator: ", "))
    }

    /// `POST /appointments`: PatNum, Op and AptDateTime required; Pattern, ProvNum, Note, ClinicNum,
    /// procNums optional. Refuses an archived patient and a time that overlaps a scheduled
    /// appointment in the operatory (both assumptions about the real API, see docs/connectors.md).
    func createAppointment(_ key: String, body: [UInt8]) throws -> EmulatorResponse {
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else { throw BadRequest(text: "body must be a JSON object") }
        guard let pat = json["PatNum"]?.int64Value, let op = json["Op"]?.int64Value, let when = json["AptDateTime"]?.stringValue
        else { throw BadRequest(text: "PatNum, Op and AptDateTime are required") }
        guard let local = LocalTimestamp(when) else { throw BadRequest(text: "AptDateTime must be in yyyy-MM-dd HH:mm:ss format") }
        let pattern = json["Pattern"]?.stringValue ?? "/XX/"
        guard !pattern.isEmpty, pattern.allSatisfy({ $0 == "X" || $0 == "/" }) else {
            throw BadRequest(text: "Pattern must be X and / only")
        }
        let procNums = json["procNums"]?.arrayValue?.compactMap(\.int64Value) ?? []
        let created: (ODAppointment, TimeZone, String) = try mutate(key) { o, now in
            guard let patient = o.patients[pat] else { throw BadRequest(text: "PatNum not found") }
            guard patient.patStatus == "Patient" else { throw BadRequest(text: "Patient status is \(patient.patStatus)") }
            guard o.operatories[op] != nil else { throw BadRequest(text: "Op not found") }
            let start = local.instant(in: o.timeZone)
            let end = start.addingTimeInterval(Double(pattern.count * 300))
            let clash = o.appointments.values.contains {
                $0.op == op && $0.aptStatus == "Scheduled" && $0.aptDateTime < end
                    && $0.aptDateTime.addingTimeInterval(Double($0.pattern.count * 300)) > start
            }
            guard !clash else { throw BadRequest(text: "Appointment overlaps another appointment in this operatory") }
            for p in procNums where o.procedures[p]?.patNum != pat {
                throw BadRequest(text: "procNum \(p) is not a procedure of this patient")
            }
            let n = o.number()
            let a = ODAppointment(
                aptNum: n, patNum: pat, aptStatus: "Scheduled", pattern: pattern, op: op, note: json["Note"]?.stringValue ?? "",
                provNum: json["ProvNum"]?.int64Value ?? o.operatories[op]?.provDentist ?? 0, aptDateTime: start,
                clinicNum: json["ClinicNum"]?.int64Value ?? o.operatories[op]?.clinicNum ?? 0, dateTStamp: now)
            o.appointments[n] = a
            for p in procNums {
                o.procedures[p]?.aptNum = n
                o.procedures[p]?.dateTStamp = now
            }
            let codes = procNums.compactMap { o.procedures[$0]?.procCode }.sorted().joined(separator: ", ")
            return (a, o.timeZone, codes)
        }
        return .json(
            201, created.0.json(in: created.1, server: now, procDescript: created.2),
            headers: [("Location", "/appointments/\(created.0.aptNum)")])
    }

    /// `PUT /appointments/{AptNum}`: AptDateTime, Op, ProvNum and Pattern change what they name; fields left out stay
    /// as they are (Open Dental's documentation). Refuses an unknown appointment (404), one not Scheduled, and a new
    /// time that overlaps another scheduled appointment in the operatory (an assumption, as for POST).
    func updateAppointment(_ key: String, _ aptNum: Int64, body: [UInt8]) throws -> EmulatorResponse {
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else { throw BadRequest(text: "body must be a JSON object") }
        let local = try json["AptDateTime"]?.stringValue.map { s throws -> LocalTimestamp in
            guard let t = LocalTimestamp(s) else { throw BadRequest(text: "AptDateTime must be in yyyy-MM-dd HH:mm:ss format") }
            return t
        }
        if let pattern = json["Pattern"]?.stringValue, pattern.isEmpty || !pattern.allSatisfy({ $0 == "X" || $0 == "/" }) {
            throw BadRequest(text: "Pattern must be X and / only")
        }
        let updated: (ODAppointment, TimeZone, String) = try mutate(key) { o, now in
            guard var a = o.appointments[aptNum] else { throw BadRequest(status: 404, text: "Appointment not found") }
            guard a.aptStatus == "Scheduled" else { throw BadRequest(text: "Appointment status is \(a.aptStatus)") }
            if let op = json["Op"]?.int64Value {
                guard o.operatories[op] != nil else { throw BadRequest(text: "Op not found") }
                a.op = op
            }
            if let local { a.aptDateTime = local.instant(in: o.timeZone) }
            if let prov = json["ProvNum"]?.int64Value { a.provNum = prov }
            if let pattern = json["Pattern"]?.stringValue { a.pattern = pattern }
            let start = a.aptDateTime
            let end = start.addingTimeInterval(Double(a.pattern.count * 300))
            let clash = o.appointments.values.contains {
                $0.aptNum != aptNum && $0.op == a.op && $0.aptStatus == "Scheduled" && $0.aptDateTime < end
                    && $0.aptDateTime.addingTimeInterval(Double($0.pattern.count * 300)) > start
            }
            guard !clash else { throw BadRequest(text: "Appointment overlaps another appointment in this operatory") }
            a.dateTStamp = now
            o.appointments[aptNum] = a
            let codes = o.procedures.values.filter { $0.aptNum == aptNum }.map(\.procCode).sorted().joined(separator: ", ")
            return (a, o.timeZone, codes)
        }
        return .json(200, updated.0.json(in: updated.1, server: now, procDescript: updated.2))
    }

    /// `POST /schedules` for a blockout: `SchedDate`, `StartTime`, `StopTime` (office wall time),
    /// `SchedType` Blockout, `BlockoutType` (the definition's DefNum), `operatories` ("5,6"), `Note`.
    func createBlockout(_ key: String, body: [UInt8]) throws -> EmulatorResponse {
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else { throw BadRequest(text: "body must be a JSON object") }
        guard json["SchedType"]?.stringValue == "Blockout" else { throw BadRequest(text: "only SchedType Blockout can be created") }
        guard let date = json["SchedDate"]?.stringValue, let start = json["StartTime"]?.stringValue,
            let stop = json["StopTime"]?.stringValue, let def = json["BlockoutType"]?.int64Value
        else { throw BadRequest(text: "SchedDate, StartTime, StopTime and BlockoutType are required") }
        let ops = (json["operatories"]?.stringValue ?? "").split(separator: ",").compactMap {
            Int64($0.trimmingCharacters(in: .whitespaces))
        }
        let created: (ODSchedule, TimeZone) = try mutate(key) { o, now in
            guard !ops.isEmpty, ops.allSatisfy({ o.operatories[$0] != nil }) else { throw BadRequest(text: "operatories not found") }
            let n = o.number()
            let s = ODSchedule(
                scheduleNum: n, schedDate: date, startTime: start, stopTime: stop, schedType: "Blockout", blockoutType: def,
                blockoutName: "PlanRouter hold", operatories: ops, dateTStamp: now, note: json["Note"]?.stringValue ?? "")
            o.schedules[n] = s
            return (s, o.timeZone)
        }
        state.withLock { $0.holdBlockoutsMade[key, default: 0] += 1 }
        return .json(201, created.0.json(in: created.1))
    }

    /// The blockouts in an office (tests and the simulator).
    public func blockouts(_ key: String) -> [ODSchedule] {
        (office(key)?.schedules.values.filter { $0.schedType == "Blockout" } ?? []).sorted { $0.scheduleNum < $1.scheduleNum }
    }
}
