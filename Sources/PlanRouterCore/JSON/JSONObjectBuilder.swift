import Foundation

/// Builds a JSON object member by member, in the order written; a nil value leaves
/// the member out (optional fields of the contract are absent, never `null`).
///
/// The one encoding path of the typed events: times are written as
/// `RFC3339.format` (UTC, `…Z`), offset times as written, money and counts as
/// integers, enums as their raw values.
public struct JSONObjectBuilder: Sendable {
    public private(set) var object: JSONObject

    public init() { object = JSONObject() }

    public var value: JSONValue { .object(object) }

    public mutating func set(_ key: String, _ value: JSONValue?) {
        guard let value else { return }
        object[key] = value
    }
    public mutating func set(_ key: String, _ value: String?) { set(key, value.map(JSONValue.string)) }
    public mutating func set(_ key: String, _ value: Int64?) { set(key, value.map(JSONValue.int)) }
    public mutating func set(_ key: String, _ value: Int?) { set(key, value.map { JSONValue.int(Int64($0)) }) }
    public mutating func set(_ key: String, _ value: Bool?) { set(key, value.map(JSONValue.bool)) }
    /// An instant, written in UTC by `RFC3339.format`.
    public mutating func set(_ key: String, _ value: Date?) { set(key, value.map { JSONValue.string(RFC3339.format($0)) }) }
    /// An instant written with its own offset.
    public mutating func set(_ key: String, _ value: OffsetDateTime?) { set(key, value.map { JSONValue.string($0.rfc3339) }) }
    public mutating func set(_ key: String, _ value: LocalDate?) { set(key, value.map { JSONValue.string($0.description) }) }
    public mutating func set<E: RawRepresentable>(_ key: String, _ value: E?) where E.RawValue == String {
        set(key, value.map { JSONValue.string($0.rawValue) })
    }
    public mutating func set(_ key: String, _ value: [String]?) { set(key, value.map { JSONValue.array($0.map(JSONValue.string)) }) }
    public mutating func set<E: RawRepresentable>(_ key: String, _ value: [E]?) where E.RawValue == String {
        set(key, value.map { JSONValue.array($0.map { .string($0.rawValue) }) })
    }
    public mutating func set<T: JSONObjectCoding>(_ key: String, _ value: T?) { set(key, value.map(\.json)) }
    public mutating func set<T: JSONObjectCoding>(_ key: String, _ value: [T]?) { set(key, value.map { JSONValue.array($0.map(\.json)) }) }
}
