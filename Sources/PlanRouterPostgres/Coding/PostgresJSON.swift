import Foundation

/// A `jsonb` value kept as its JSON text, so callers choose when (and whether) to pay for
/// `JSONDecoder`.
public struct PostgresJSON: Sendable, Hashable, PostgresEncodable, PostgresDecodable {
    public var text: String

    public init(_ text: String) {
        self.text = text
    }

    public init<T: Encodable>(encoding value: T) throws {
        let data = try JSONEncoder().encode(value)
        self.text = String(decoding: data, as: UTF8.self)
    }

    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    public static var postgresTypeOID: UInt32 { 3802 }  // jsonb
    public func postgresText() -> String { text }
    public init(postgresText: String) { self.text = postgresText }
}
