import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The `inbox` table: records event ids per consumer; a redelivered id is skipped.
enum Inbox {
    typealias Key = EventKey

    /// Inserts the keys and returns those that were not there before.
    static func record(
        consumer: String, _ entries: [(key: Key, topic: String, partition: Int32, offset: Int64)], in tx: PostgresConnection,
        now: Date
    ) async throws -> Set<Key> {
        try await InboxRepository.record(
            consumer: consumer, entries.map { InboxEntry(key: $0.key, topic: $0.topic, partition: $0.partition, offset: $0.offset) },
            now: now,
            on: tx)
    }
}
