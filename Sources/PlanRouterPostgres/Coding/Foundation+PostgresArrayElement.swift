import Foundation

extension Date: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 1185 } }
extension UUID: PostgresArrayElement { public static var postgresArrayTypeOID: UInt32 { 2951 } }
