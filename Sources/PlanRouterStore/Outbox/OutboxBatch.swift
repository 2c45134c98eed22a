import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Outgoing records collected during one transaction and inserted with one statement.
public struct OutboxBatch: Sendable {
    public private(set) var records: [OutboxRecord] = []

    public init() {}

    public mutating func append(_ record: OutboxRecord) { records.append(record) }

    public mutating func append(_ event: CloudEvent, topic: String) {
        records.append(OutboxRecord(event: event, topic: topic))
    }

    public var isEmpty: Bool { records.isEmpty }

    /// The channel relays LISTEN on; NOTIFY is delivered at commit, so relays wake
    /// exactly when there is something committed to publish.
    public static let notifyChannel = "planrouter_outbox"

    /// Inserts every record (one statement) and notifies relays.
    public func insert(on tx: PostgresConnection, now: Date) async throws {
        guard !records.isEmpty else { return }
        try await OutboxRepository.insert(records, now: now, on: tx)
    }
}
