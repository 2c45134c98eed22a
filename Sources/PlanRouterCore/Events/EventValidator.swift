import Foundation

/// Why an incoming event was rejected. `reason` is safe to log and to put on a
/// dead-letter record: it names fields and rules, never field values.
public struct EventRejection: Error, Sendable, CustomStringConvertible, Hashable {
    public enum Kind: String, Sendable {
        case tooLarge = "too_large"
        case invalidJSON = "invalid_json"
        case invalidEnvelope = "invalid_envelope"
        case unknownType = "unknown_type"
        case unexpectedType = "unexpected_type"
        case invalidData = "invalid_data"
    }
    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = RejectionReason.storable(reason)
    }
    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// Parses and validates CloudEvents against the envelope schema and the schema of their type.
public final class EventValidator: Sendable {
    /// Events above this size are rejected before parsing; the largest legitimate
    /// event (a big schedule.changed) stays well below it.
    public let maximumBytes: Int
    private let envelope: JSONSchema
    private let dataSchemas: [EventType: JSONSchema]

    public init(maximumBytes: Int = 512 * 1024) throws {
        self.maximumBytes = maximumBytes
        envelope = try JSONSchema(json: try SchemaFiles.text(of: "cloudevent.v1.json"))
        var d: [EventType: JSONSchema] = [:]
        for t in EventType.allCases { d[t] = try JSONSchema(json: try SchemaFiles.text(of: t.schemaFile)) }
        dataSchemas = d
    }

    /// The shared instance over the shipped schemas.
    public static let shared: EventValidator = {
        do { return try EventValidator() } catch { fatalError("shipped schemas do not load: \(error)") }
    }()

    public func schema(for type: EventType) -> JSONSchema { dataSchemas[type]! }

    /// Parses bytes into a validated event; `expecting` limits the accepted types (a topic carries
    /// one type), and `topic`, the topic the bytes came from, is named when the type is not one of them.
    public func decode(
        _ bytes: some Collection<UInt8>, expecting: Set<EventType>? = nil, topic: String? = nil
    ) throws(EventRejection) -> CloudEvent {
        guard bytes.count <= maximumBytes else {
            throw EventRejection(.tooLarge, "event of \(bytes.count) bytes exceeds the \(maximumBytes)-byte limit")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw EventRejection(.invalidJSON, error.description) }
        return try decode(value, expecting: expecting, topic: topic)
    }

    public func decode(_ value: JSONValue, expecting: Set<EventType>? = nil, topic: String? = nil) throws(EventRejection) -> CloudEvent {
        let envelopeErrors = envelope.validate(value)
        if !envelopeErrors.isEmpty {
            throw EventRejection(.invalidEnvelope, envelopeErrors.joined(separator: "; "))
        }
        // The envelope schema passed, so these members are present; a guard rather than `!`
        // keeps a schema edit from turning into a crash.
        guard let typeName = value["type"]?.stringValue, let id = value["id"]?.stringValue, let source = value["source"]?.stringValue,
            let time = value["time"]?.stringValue.flatMap(RFC3339.parse), let data = value["data"]
        else { throw EventRejection(.invalidEnvelope, "envelope: type, id, source, time and data are required") }
        guard let type = EventType(cloudEventType: typeName) else {
            throw EventRejection(.unknownType, "unknown event type \(typeName)")
        }
        if let expecting, !expecting.contains(type) {
            let carried = expecting.map(\.cloudEventType).sorted()
            let accepts = carried.isEmpty ? "no event type this consumer reads" : carried.joined(separator: ", ")
            throw EventRejection(
                .unexpectedType,
                "event type \(typeName) does not belong on \(topic.map { "topic \($0)" } ?? "this input"), which carries \(accepts)")
        }
        let dataErrors = validateData(data, as: type)
        if !dataErrors.isEmpty {
            throw EventRejection(.invalidData, dataErrors.map { "/data" + $0 }.joined(separator: "; "))
        }
        return CloudEvent(
            id: id,
            source: source,
            type: type,
            time: time,
            subject: value["subject"]?.stringValue,
            data: data
        )
    }

    /// Validates a bare `data` object for a type (used by `produce --wrap`).
    public func validateData(_ data: JSONValue, as type: EventType) -> [String] {
        dataSchemas[type]?.validate(data) ?? ["no schema for \(type.cloudEventType)"]
    }
}

/// The JSON Schema files shipped in the package (the published contract in `schemas/`).
public enum SchemaFiles {
    public static func url(of file: String) -> URL? {
        Bundle.module.url(forResource: file, withExtension: nil, subdirectory: "Schemas")
    }
    public static func text(of file: String) throws -> String {
        guard let url = url(of: file) else { throw JSONSchema.LoadError(description: "schema \(file) is not in the bundle") }
        return try String(contentsOf: url, encoding: .utf8)
    }
}
