import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// What one poll of one office produced, written in one transaction: the events (each with an
/// id derived from Open Dental keys and edit stamps), dead letters of malformed records, the
/// plans' published state and the watermarks. Ids produced before are skipped, so a re-poll
/// of an overlapping window writes nothing twice.
struct OfficeBatch {
    var events: [(event: CloudEvent, topic: String)] = []
    var deadLetters: [OutboxRecord] = []
    var plans: [ConnectorPlanState] = []
    var watermarks: [String: String] = [:]

    /// An event, unless it fails its own schema (then a dead letter: a connector bug or a record we misread).
    mutating func append(
        _ data: some EventData, id: String, source: String, time: Date, subject: String?, topics: TopicNames, office: String
    ) {
        let problems = EventValidator.shared.validate(data)
        let type = Swift.type(of: data).eventType
        guard problems.isEmpty else {
            deadLetter(
                MalformedRecord(
                    table: type.rawValue, key: subject ?? id,
                    reason: "event fails its schema: \(problems.prefix(3).joined(separator: "; "))"),
                office: office, source: source, topic: topics[type], fingerprint: id, time: time)
            return
        }
        events.append((CloudEvent(id: id, source: source, time: time, subject: subject, data: data), topics[type]))
    }

    /// A malformed record goes to the topic's DLQ with the office, table, key and reason only (no
    /// contents: they may carry patient data). `fingerprint` keeps its id stable across re-polls.
    mutating func deadLetter(_ m: MalformedRecord, office: String, source: String, topic: String, fingerprint: String, time: Date) {
        let payload: JSONValue = .object([
            "connector": "opendental", "office": .string(office), "table": .string(m.table), "key": .string(m.key),
            "reason": .string(m.reason),
        ])
        deadLetters.append(
            OutboxRecord(
                topic: TopicNames.deadLetter(of: topic), key: Array(office.utf8),
                eventID: "\(office)-dlq-\(m.table)-\(m.key)-\(Self.fnv(fingerprint))", payload: payload.serializedBytes(),
                headers: [
                    "dlq.reason": String(m.description.prefix(500)), "dlq.kind": "malformed_record", "dlq.consumer": "connector-opendental",
                    "dlq.source": source, "dlq.time": RFC3339.format(time),
                ]))
    }

    /// Raises a watermark to `stamp` if it is newer.
    mutating func mark(_ resource: String, _ stamp: LocalTimestamp) {
        let s = stamp.description
        if (watermarks[resource] ?? "") < s { watermarks[resource] = s }
    }

    /// Writes what the poll decided so far (events, dead letters, plan states) but not the
    /// watermarks, and starts over empty: see `OfficePoller.plansPerTransaction`.
    mutating func commitProgress(_ office: ConnectorOffice, pool: PostgresPool, now: Date) async throws -> (events: Int, deadLetters: Int) {
        var progress = self
        progress.watermarks = [:]
        let written = try await progress.commit(office, pool: pool, now: now)
        events = []
        deadLetters = []
        plans = []
        return written
    }

    /// Writes it all in one transaction; returns the events and dead letters that were new.
    func commit(_ office: ConnectorOffice, pool: PostgresPool, now: Date) async throws -> (events: Int, deadLetters: Int) {
        try await pool.withTransaction { tx in
            let fresh = try await ConnectorStateRepository.recordProduced(
                office, events.map(\.event.id) + deadLetters.map(\.eventID), now: now, on: tx)
            var outbox = OutboxBatch()
            var counts = (events: 0, deadLetters: 0)
            for e in events where fresh.contains(e.event.id) {
                outbox.append(e.event, topic: e.topic)
                counts.events += 1
            }
            for d in deadLetters where fresh.contains(d.eventID) {
                outbox.append(d)
                counts.deadLetters += 1
            }
            try await ConnectorStateRepository.savePlans(office, plans, now: now, on: tx)
            try await ConnectorStateRepository.advance(office, watermarks, now: now, on: tx)
            try await outbox.insert(on: tx, now: now)
            return counts
        }
    }

    /// FNV-1a, 64 bits, hex: a stable short digest for ids.
    static func fnv(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h &*= 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }
}
