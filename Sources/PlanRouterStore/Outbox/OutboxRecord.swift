import Foundation
import PlanRouterCore

/// One message to publish, written to the `outbox` table in the transaction that caused it.
public struct OutboxRecord: Sendable {
    public var topic: String
    public var key: [UInt8]?
    public var eventID: String
    public var payload: [UInt8]
    public var headers: [String: String]

    public init(topic: String, key: [UInt8]?, eventID: String, payload: [UInt8], headers: [String: String]) {
        self.topic = topic
        self.key = key
        self.eventID = eventID
        self.payload = payload
        self.headers = headers
    }

    /// A CloudEvent keyed by its location, with the CloudEvents Kafka binding headers.
    public init(event: CloudEvent, topic: String) {
        self.init(
            topic: topic, key: event.locationID.map { Array($0.utf8) }, eventID: event.id, payload: event.serializedBytes(),
            headers: ["content-type": CloudEvent.contentType, "ce_type": event.type.cloudEventType, "ce_id": event.id])
    }

    /// Shards spread keys over relays; one key always maps to one shard.
    public static let shardCount = 16

    public var shard: Int32 {
        var h: UInt32 = 2_166_136_261
        for b in key ?? [] {
            h ^= UInt32(b)
            h &*= 16_777_619
        }
        return Int32(h % UInt32(OutboxRecord.shardCount))
    }
}
