import Foundation

/// A CloudEvents 1.0 event in structured JSON mode, already validated.
public struct CloudEvent: Sendable, Hashable {
    public var id: String
    public var source: String
    public var type: EventType
    public var time: Date
    public var subject: String?
    public var data: JSONValue

    public init(id: String, source: String, type: EventType, time: Date, subject: String? = nil, data: JSONValue) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.subject = subject
        self.data = data
    }

    public static let contentType = "application/cloudevents+json"

    /// The envelope as a JSON value, attributes in the conventional order.
    public var json: JSONValue {
        var o: JSONObject = [
            "specversion": "1.0",
            "id": .string(id),
            "source": .string(source),
            "type": .string(type.cloudEventType),
            "time": .string(RFC3339.format(time)),
        ]
        if let subject { o["subject"] = .string(subject) }
        o["dataschema"] = .string(type.dataSchemaURI)
        o["datacontenttype"] = "application/json"
        o["data"] = data
        return .object(o)
    }

    public func serializedBytes() -> [UInt8] { json.serializedBytes() }

    /// The partition key of every topic: the location.
    public var locationID: String? { data["location_id"]?.stringValue }
}
