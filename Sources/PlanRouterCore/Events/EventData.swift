import Foundation

/// The `data` of one event type of the contract, as a Swift value.
///
/// Decoded once from the validated `JSONValue` (`init(data:)`, which throws
/// `EventRejection(.invalidData, "/data/…: …")` instead of trapping) and encoded
/// once (`data`), members in the order the workers have always written them,
/// absent optionals left out. `data` of a value is valid against the type's schema
/// whenever the value respects the schema's bounds (lengths, ranges, patterns),
/// which the types do not enforce: check with `EventValidator.validate(_:)` where
/// the values come from outside.
public protocol EventData: Sendable, Hashable {
    /// The event type whose `data` this is.
    static var eventType: EventType { get }
    /// Reads a data object that passed the type's schema.
    init(data: JSONValue) throws(EventRejection)
    /// The data object.
    var data: JSONValue { get }
}

/// A nested object of an event's data (a patient, a procedure, an opening, a block).
public protocol JSONObjectCoding: Sendable, Hashable {
    /// Reads the object at `reader`; errors name `reader.path`.
    init(_ reader: JSONReader) throws(EventRejection)
    var json: JSONValue { get }
}

extension CloudEvent {
    /// An event carrying typed data: `type` is the data's event type.
    public init(id: String, source: String, time: Date, subject: String? = nil, data: some EventData) {
        self.init(id: id, source: source, type: Swift.type(of: data).eventType, time: time, subject: subject, data: data.data)
    }

    /// The typed data; throws `unexpected_type` when the event is of another type.
    public func decode<D: EventData>(_: D.Type) throws(EventRejection) -> D {
        guard self.type == D.eventType else {
            throw EventRejection(.unexpectedType, "event type \(self.type.cloudEventType) is not \(D.eventType.cloudEventType)")
        }
        return try D(data: data)
    }
}

extension EventValidator {
    /// The schema violations of a typed value's data (empty when valid), as JSON pointers under `/data`.
    public func validate(_ value: some EventData) -> [String] {
        validateData(value.data, as: Swift.type(of: value).eventType).map { "/data" + $0 }
    }
}
