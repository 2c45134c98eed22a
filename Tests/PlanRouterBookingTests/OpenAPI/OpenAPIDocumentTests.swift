import Foundation
import PlanRouterBooking
import PlanRouterStaff
import Testing
import Yams

@Suite struct OpenAPIDocumentTests {
    /// openapi/booking.yaml documents exactly the routes the public router serves.
    @Test func openAPIDocumentMatchesTheRoutes() throws {
        let served = BookingRoutes.all.map { "\($0.method.rawValue) \($0.path)" }
        #expect(try Self.documentedRoutes("openapi/booking.yaml") == Set(served))
        #expect(Set(served).count == served.count)
    }

    /// openapi/staff.yaml documents exactly the routes the staff router serves.
    @Test func staffOpenAPIDocumentMatchesTheRoutes() throws {
        let served = StaffRoutes.all.map { "\($0.method.rawValue) \($0.path)" }
        #expect(try Self.documentedRoutes("openapi/staff.yaml") == Set(served))
        #expect(Set(served).count == served.count)
    }

    static func documentedRoutes(_ file: String) throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((doc["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(doc["paths"] as? [String: Any])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var documented: Set<String> = []
        for (path, item) in paths {
            for key in (item as? [String: Any] ?? [:]).keys where methods.contains(key) { documented.insert("\(key.uppercased()) \(path)") }
        }
        return documented
    }
}
