/// An element type of one-dimensional PostgreSQL arrays; `[Element]` then encodes and decodes
/// as the matching array type (`[String]` as `text[]`, `[Int?]` as `int8[]` with NULLs, …).
///
/// Encoding and decoding of the whole array are requirements with default implementations so
/// `UInt8` can map `[UInt8]` to `bytea` instead of an array literal: Swift allows only one
/// conditional conformance of `Array` to a protocol.
public protocol PostgresArrayElement: Sendable {
    /// The OID of the array type, e.g. 1009 for `text[]`.
    static var postgresArrayTypeOID: UInt32 { get }
    /// The element's text inside an array literal; nil writes NULL.
    var postgresArrayElementText: String? { get }
    /// Builds an element from its text in array output; nil is a NULL element.
    init(postgresArrayElementText: String?) throws
    /// The text for a whole array; defaults to a quoted array literal.
    static func postgresArrayText(_ elements: [Self]) -> String
    /// Parses a whole array from its text; defaults to PostgreSQL's 1-D array output.
    static func postgresArray(fromText text: String) throws -> [Self]
}

extension PostgresArrayElement {
    public static func postgresArrayText(_ elements: [Self]) -> String {
        PostgresArrayLiteral.encode(elements)
    }

    public static func postgresArray(fromText text: String) throws -> [Self] {
        try PostgresArrayLiteral.decode(text)
    }
}

extension PostgresArrayElement where Self: PostgresEncodable & PostgresDecodable {
    public var postgresArrayElementText: String? { postgresText() }

    public init(postgresArrayElementText text: String?) throws {
        guard let text else { throw PostgresError.decoding("NULL array element for non-optional \(Self.self)") }
        try self.init(postgresText: text)
    }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement & PostgresEncodable {
    public static var postgresArrayTypeOID: UInt32 { Wrapped.postgresArrayTypeOID }
    public var postgresArrayElementText: String? { self?.postgresArrayElementText }

    public init(postgresArrayElementText text: String?) throws {
        self = try text.map { try Wrapped(postgresArrayElementText: $0) }
    }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    public static var postgresTypeOID: UInt32 { Element.postgresArrayTypeOID }
    public func postgresText() -> String { Element.postgresArrayText(self) }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    public init(postgresText: String) throws {
        self = try Element.postgresArray(fromText: postgresText)
    }
}

extension String: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1009 } }
extension Int: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1016 } }
extension Int64: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1016 } }
extension Int32: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1007 } }
extension Int16: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1005 } }
extension Bool: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1000 } }
extension Double: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1022 } }
extension PostgresDate: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1182 } }
extension PostgresJSON: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 3807 } }
