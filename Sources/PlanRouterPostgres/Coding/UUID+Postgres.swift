import Foundation

extension UUID: PostgresEncodable, PostgresDecodable {
    public static var postgresTypeOID: UInt32 { 2950 }  // uuid
    public func postgresText() -> String { uuidString }
    public init(postgresText: String) throws {
        guard let value = UUID(uuidString: postgresText) else { throw PostgresError.decoding("invalid text for UUID") }
        self = value
    }
}
