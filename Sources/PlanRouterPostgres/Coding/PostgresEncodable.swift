/// A value bound as a query parameter: sent in text format with an explicit type OID, so the
/// server never has to guess the parameter type.
public protocol PostgresEncodable: Sendable {
    /// The OID of the PostgreSQL type the text is written in, e.g. 25 for `text`.
    static var postgresTypeOID: UInt32 { get }
    /// The text-format representation PostgreSQL's input function for that type accepts.
    func postgresText() -> String
}

/// A value read from a text-format result column.
public protocol PostgresDecodable: Sendable {
    /// Parses PostgreSQL's text output; throws `PostgresError` with code `.decoding`.
    init(postgresText: String) throws
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresTypeOID: UInt32 { Wrapped.postgresTypeOID }

    /// Only meaningful for `.some`; `.none` is bound as SQL NULL and never asks for text.
    public func postgresText() -> String {
        self?.postgresText() ?? ""
    }
}

/// Lets the bind path see through `Optional` values that arrive type-erased as
/// `any PostgresEncodable`, so `.none` becomes SQL NULL rather than an empty string.
protocol PostgresNullableBind {
    var unwrappedBind: (any PostgresEncodable)? { get }
}

extension Optional: PostgresNullableBind where Wrapped: PostgresEncodable {
    var unwrappedBind: (any PostgresEncodable)? {
        guard let value = self else { return nil }
        if let nested = value as? any PostgresNullableBind { return nested.unwrappedBind }
        return value
    }
}

/// A parameter as sent to libpq: text (nil for NULL) and its type OID.
struct PostgresBind: Sendable {
    var text: String?
    var typeOID: UInt32

    init(_ value: any PostgresEncodable) {
        self.init(Optional(value))
    }

    init(_ value: (any PostgresEncodable)?) {
        guard let value else {
            // An untyped NULL (a bare `nil` literal); OID 0 lets the server infer the type.
            self.text = nil
            self.typeOID = 0
            return
        }
        self.typeOID = type(of: value).postgresTypeOID
        if let nullable = value as? any PostgresNullableBind {
            self.text = nullable.unwrappedBind?.postgresText()
        } else {
            self.text = value.postgresText()
        }
    }
}
