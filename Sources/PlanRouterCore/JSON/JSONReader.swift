import Foundation

/// Reads a JSON value that already passed its schema into typed fields.
///
/// Every accessor throws `EventRejection(.invalidData, "<pointer>: …")` instead of
/// trapping: the reason names the JSON pointer of the field (e.g.
/// `/data/patient/first_name: missing`) and the rule it breaks, never the field's value,
/// so it can go on a dead-letter record as it is. A field that is present with the
/// wrong type is an error also when the field is optional; `null` is never accepted
/// (no schema of the contract allows it).
public struct JSONReader: Sendable {
    /// The value this reader looks at: an object for keyed access, any value for the `as…` accessors.
    public let value: JSONValue
    /// The JSON pointer of `value` in the event, e.g. `/data` or `/data/procedures/0`.
    public let path: String

    public init(_ value: JSONValue, path: String = "/data") {
        self.value = value
        self.path = path
    }

    /// A reader over an object; throws when `value` is not one.
    public static func object(_ value: JSONValue, path: String = "/data") throws(EventRejection) -> JSONReader {
        let r = JSONReader(value, path: path)
        _ = try r.asObject()
        return r
    }

    // MARK: Errors

    /// A rejection naming this reader's path.
    public func rejection(_ rule: String) -> EventRejection {
        EventRejection(.invalidData, "\(path.isEmpty ? "/" : path): \(rule)")
    }

    /// The JSON pointer of a key of this object (RFC 6901: `~` and `/` escaped).
    public func pointer(_ key: String) -> String {
        let escaped =
            key.contains(where: { $0 == "~" || $0 == "/" })
            ? key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") : key
        return path + "/" + escaped
    }

    func mismatch(_ expected: String) -> EventRejection { rejection("expected \(expected), found \(value.typeName)") }

    // MARK: Navigation

    /// Whether the object has `key` (with any value).
    public func contains(_ key: String) -> Bool { value[key] != nil }

    /// The member `key`, or nil when it is absent.
    public func optional(_ key: String) throws(EventRejection) -> JSONReader? {
        guard let o = try asObject()[key] else { return nil }
        return JSONReader(o, path: pointer(key))
    }

    /// The member `key`; throws `<pointer>: missing` when it is absent.
    public func required(_ key: String) throws(EventRejection) -> JSONReader {
        guard let r = try optional(key) else { throw EventRejection(.invalidData, "\(pointer(key)): missing") }
        return r
    }

    // MARK: This value

    public func asObject() throws(EventRejection) -> JSONObject {
        guard case .object(let o) = value else { throw mismatch("object") }
        return o
    }

    public func asString() throws(EventRejection) -> String {
        guard case .string(let s) = value else { throw mismatch("string") }
        return s
    }

    /// A string that must be one of the raw values of `E` (a schema `enum`).
    public func asString<E: RawRepresentable>(as type: E.Type) throws(EventRejection) -> E where E.RawValue == String {
        guard let e = E(rawValue: try asString()) else { throw rejection("not an allowed value of \(E.self)") }
        return e
    }

    /// An integer; like JSON Schema's `integer`, `135000.0` counts as one.
    public func asInt64() throws(EventRejection) -> Int64 {
        guard let i = value.int64Value else { throw mismatch("integer") }
        return i
    }

    public func asInt() throws(EventRejection) -> Int {
        guard let i = value.int64Value, let n = Int(exactly: i) else { throw mismatch("integer") }
        return n
    }

    public func asBool() throws(EventRejection) -> Bool {
        guard case .bool(let b) = value else { throw mismatch("boolean") }
        return b
    }

    /// An RFC 3339 date-time with offset, as an instant (the offset is not kept).
    public func asDate() throws(EventRejection) -> Date {
        guard let d = RFC3339.parse(try asString()) else { throw rejection("not an RFC 3339 date-time with offset") }
        return d
    }

    /// An RFC 3339 date-time with offset, keeping the offset it was written with.
    public func asOffsetDateTime() throws(EventRejection) -> OffsetDateTime {
        guard let d = OffsetDateTime(rfc3339: try asString()) else { throw rejection("not an RFC 3339 date-time with offset") }
        return d
    }

    /// A calendar date `YYYY-MM-DD`.
    public func asLocalDate() throws(EventRejection) -> LocalDate {
        guard let d = LocalDate(try asString()) else { throw rejection("not a date (YYYY-MM-DD)") }
        return d
    }

    /// The items of an array, each with its own path (`…/0`, `…/1`).
    public func asArray() throws(EventRejection) -> [JSONReader] {
        guard case .array(let items) = value else { throw mismatch("array") }
        return items.enumerated().map { JSONReader($0.element, path: "\(path)/\($0.offset)") }
    }

    /// The items of an array, each read by `item`.
    public func asArray<T>(_ item: (JSONReader) throws(EventRejection) -> T) throws(EventRejection) -> [T] {
        let readers = try asArray()
        var out: [T] = []
        out.reserveCapacity(readers.count)
        for r in readers { out.append(try item(r)) }
        return out
    }

    // MARK: Required members

    public func string(_ key: String) throws(EventRejection) -> String { try required(key).asString() }
    public func string<E: RawRepresentable>(_ key: String, as type: E.Type) throws(EventRejection) -> E where E.RawValue == String {
        try required(key).asString(as: E.self)
    }
    public func int64(_ key: String) throws(EventRejection) -> Int64 { try required(key).asInt64() }
    public func int(_ key: String) throws(EventRejection) -> Int { try required(key).asInt() }
    public func bool(_ key: String) throws(EventRejection) -> Bool { try required(key).asBool() }
    public func date(_ key: String) throws(EventRejection) -> Date { try required(key).asDate() }
    public func offsetDateTime(_ key: String) throws(EventRejection) -> OffsetDateTime { try required(key).asOffsetDateTime() }
    public func localDate(_ key: String) throws(EventRejection) -> LocalDate { try required(key).asLocalDate() }
    /// A nested object, as a reader whose path is the member's.
    public func object(_ key: String) throws(EventRejection) -> JSONReader {
        let r = try required(key)
        _ = try r.asObject()
        return r
    }
    public func array<T>(_ key: String, _ item: (JSONReader) throws(EventRejection) -> T) throws(EventRejection) -> [T] {
        try required(key).asArray(item)
    }
    /// The member as it is, any JSON type (for free-form members such as a task's `context`).
    public func value(_ key: String) throws(EventRejection) -> JSONValue { try required(key).value }

    // MARK: Optional members (absent → nil; present with the wrong type → throws)

    public func optionalString(_ key: String) throws(EventRejection) -> String? { try optional(key)?.asString() }
    public func optionalString<E: RawRepresentable>(_ key: String, as type: E.Type) throws(EventRejection) -> E?
    where E.RawValue == String {
        try optional(key)?.asString(as: E.self)
    }
    public func optionalInt64(_ key: String) throws(EventRejection) -> Int64? { try optional(key)?.asInt64() }
    public func optionalInt(_ key: String) throws(EventRejection) -> Int? { try optional(key)?.asInt() }
    public func optionalBool(_ key: String) throws(EventRejection) -> Bool? { try optional(key)?.asBool() }
    public func optionalDate(_ key: String) throws(EventRejection) -> Date? { try optional(key)?.asDate() }
    public func optionalOffsetDateTime(_ key: String) throws(EventRejection) -> OffsetDateTime? { try optional(key)?.asOffsetDateTime() }
    public func optionalLocalDate(_ key: String) throws(EventRejection) -> LocalDate? { try optional(key)?.asLocalDate() }
    public func optionalObject(_ key: String) throws(EventRejection) -> JSONReader? {
        guard let r = try optional(key) else { return nil }
        _ = try r.asObject()
        return r
    }
    public func optionalArray<T>(_ key: String, _ item: (JSONReader) throws(EventRejection) -> T) throws(EventRejection) -> [T]? {
        try optional(key)?.asArray(item)
    }
    public func optionalValue(_ key: String) throws(EventRejection) -> JSONValue? { try optional(key)?.value }
}
