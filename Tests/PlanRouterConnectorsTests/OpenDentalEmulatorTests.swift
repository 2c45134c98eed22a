import Foundation
import PlanRouterCore
import PlanRouterEmulators
import Testing

/// The emulator's documented behaviours, called without HTTP (the integration tests go over HTTP).
@Suite struct OpenDentalEmulatorTests {
    let e = OpenDentalEmulator(developerKey: "dev")
    let zone = TimeZone(identifier: "America/Chicago")!

    init() { e.addOffice(customerKey: "cust", timeZone: zone) }

    func get(_ path: String, _ query: [String: String] = [:], auth: String? = "ODFHIR dev/cust") -> EmulatorResponse {
        e.handle(method: "GET", path: path, query: query, authorization: auth, body: [])
    }

    @Test func refusesRequestsWithoutBothKeys() {
        #expect(get("/treatplans", auth: nil).status == 401)
        #expect(get("/treatplans", auth: "ODFHIR other/cust").status == 401)
        #expect(get("/treatplans", auth: "ODFHIR dev/unknown").status == 401)
        #expect(get("/treatplans", auth: "Bearer dev/cust").status == 401)
        #expect(get("/treatplans").status == 200)
        e.setEnabled(false, customerKey: "cust")
        #expect(get("/treatplans").status == 401)
    }

    @Test func pagesByOffsetInChunksOf100() throws {
        let prov = try e.addProvider("cust", abbr: "DOC")
        for i in 0..<230 {
            let pat = try e.addPatient("cust", lName: "L\(i)", fName: "F\(i)")
            try e.presentPlan("cust", patNum: pat, provNum: prov, procedures: [.init(code: "D2740", descript: "crown", fee: 1200)])
        }
        func count(_ offset: Int) throws -> Int {
            try #require(JSONParser.parse(get("/treatplans", ["Offset": String(offset)]).body).arrayValue).count
        }
        #expect(try count(0) == 100)
        #expect(try count(100) == 100)
        #expect(try count(200) == 30)
        #expect(get("/treatplans", ["Offset": "x"]).status == 400)
    }

    @Test func writesTimesInTheOfficesZoneAndFiltersByThem() throws {
        e.setNow(RFC3339.parse("2026-12-01T15:00:00Z")!)
        let prov = try e.addProvider("cust", abbr: "DOC")
        let pat = try e.addPatient("cust", lName: "L", fName: "F")
        try e.presentPlan("cust", patNum: pat, provNum: prov, procedures: [.init(code: "D2740", descript: "crown", fee: 1200)])
        let rows = try #require(JSONParser.parse(get("/treatplans").body).arrayValue)
        #expect(rows.first?["SecDateTEdit"]?.stringValue == "2026-12-01 09:00:00")
        #expect(rows.first?["DateTSigned"]?.stringValue == "0001-01-01 00:00:00")
        #expect(try #require(JSONParser.parse(get("/treatplans", ["SecDateTEdit": "2026-12-01 09:00:01"]).body).arrayValue).isEmpty)
        #expect(get("/treatplans", ["SecDateTEdit": "2026-12-01T09:00:00"]).status == 400)
    }

    @Test func answersInjectedFaultsThenRecovers() {
        e.inject(.init(status: 429, retryAfterSeconds: 3, customerKey: "cust", count: 2))
        let first = get("/treatplans")
        #expect(first.status == 429)
        #expect(first.headers.contains { $0.0 == "Retry-After" && $0.1 == "3" })
        #expect(get("/treatplans").status == 429)
        #expect(get("/treatplans").status == 200)
    }

    @Test func createsAppointmentsAndRefusesOverlapsAndArchivedPatients() throws {
        let prov = try e.addProvider("cust", abbr: "DOC")
        let op = try e.addOperatory("cust", name: "Op 1", provDentist: prov)
        let pat = try e.addPatient("cust", lName: "L", fName: "F")
        func post(_ body: JSONValue) -> EmulatorResponse {
            e.handle(method: "POST", path: "/appointments", query: [:], authorization: "ODFHIR dev/cust", body: body.serializedBytes())
        }
        let body: JSONValue = .object(["PatNum": .int(pat), "Op": .int(op), "AptDateTime": "2026-12-02 08:00:00", "Pattern": "XXXXXX"])
        #expect(post(body).status == 201)
        #expect(post(body).status == 400)
        try e.archivePatient("cust", patNum: pat)
        #expect(post(.object(["PatNum": .int(pat), "Op": .int(op), "AptDateTime": "2026-12-03 08:00:00"])).status == 400)
        #expect(post(.object(["PatNum": .int(pat)])).status == 400)
        #expect(e.scheduledAppointments("cust").count == 1)
    }
}
