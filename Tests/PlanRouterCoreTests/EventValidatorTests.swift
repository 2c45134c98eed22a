import Foundation
import PlanRouterCore
import Testing

@Suite struct EventValidatorTests {
    let v = EventValidator.shared

    func reject(_ bytes: [UInt8]) -> EventRejection? {
        do {
            _ = try v.decode(bytes, expecting: [.planAccepted])
            return nil
        } catch { return error }
    }
    func reject(_ value: JSONValue) -> EventRejection? { reject(value.serializedBytes()) }

    @Test func docExamplesAreValid() throws {
        for data in [Fixtures.implant, Fixtures.crown, Fixtures.botox, Fixtures.sealant] {
            let e = try v.decode(Fixtures.envelope(data).serializedBytes(), expecting: [.planAccepted])
            #expect(e.type == .planAccepted)
            #expect(e.locationID == "loc-12")
        }
    }

    @Test func invalidJSON() { #expect(reject(Array("{\"id\": ".utf8))?.kind == .invalidJSON) }

    @Test func invalidUTF8() {
        var bytes = Array(Fixtures.envelope(Fixtures.crown).serialized().utf8)
        let i = bytes.firstIndex(of: UInt8(ascii: "M"))!  // inside "Maria"
        bytes[i] = 0xFF
        let r = reject(bytes)
        #expect(r?.kind == .invalidJSON)
        #expect(r?.reason.contains("invalid UTF-8") == true)
    }

    @Test func wrongTypes() {
        var d = Fixtures.crown.objectValue!
        d["total_fee_cents"] = "1350.00"
        let r = reject(Fixtures.envelope(.object(d)))
        #expect(r?.kind == .invalidData)
        #expect(r?.reason == "/data/total_fee_cents: expected integer, found string")
    }

    @Test func missingRequiredField() {
        var d = Fixtures.crown.objectValue!
        d["plan_id"] = nil
        #expect(reject(Fixtures.envelope(.object(d)))?.reason == "/data/: missing required property \"plan_id\"")
    }

    @Test func unknownEventType() {
        #expect(reject(Fixtures.envelope(Fixtures.crown, type: "planrouter.plan.teleported.v1"))?.kind == .unknownType)
    }

    @Test func eventOfAnotherTopic() {
        #expect(reject(Fixtures.envelope(Fixtures.crown, type: "planrouter.plan.changed.v1"))?.kind == .unexpectedType)
    }

    @Test func negativeAndAbsurdFees() {
        let neg = Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", -5)])
        #expect(reject(Fixtures.envelope(neg))?.reason.contains("/data/procedures/0/fee_cents: less than minimum 0") == true)
        let huge = Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 50_000_000_00)])
        #expect(reject(Fixtures.envelope(huge))?.reason.contains("greater than maximum") == true)
    }

    @Test func absurdChairMinutes() {
        let d = Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 1000, minutes: 5000)])
        #expect(reject(Fixtures.envelope(d))?.reason.contains("/data/procedures/0/minutes: greater than maximum 480") == true)
    }

    @Test func oneMegabytePayload() {
        var d = Fixtures.crown.objectValue!
        d["padding"] = .string(String(repeating: "x", count: 1 << 20))
        #expect(reject(Fixtures.envelope(.object(d)))?.kind == .tooLarge)
    }

    @Test func cdtCodesMustLookLikeCDT() {
        let bad = Fixtures.planAccepted(procedures: [Fixtures.procedure("D27400", 1000)])
        #expect(reject(Fixtures.envelope(bad))?.reason.contains("does not match pattern ^D[0-9]{4}$") == true)
        let service = Fixtures.planAccepted(procedures: [Fixtures.procedure("HYDRAFACIAL", 1000, system: "service")])
        #expect(reject(Fixtures.envelope(service)) == nil)
    }

    @Test func timesNeedAnOffset() {
        let d = Fixtures.planAccepted(procedures: [Fixtures.procedure("D2740", 1)], acceptedAt: "2026-11-30T10:15:00")
        #expect(reject(Fixtures.envelope(d))?.reason.contains("/data/accepted_at: not an RFC 3339 date-time") == true)
    }

    @Test func everyShippedSchemaLoads() throws {
        for t in EventType.allCases { _ = v.schema(for: t) }
    }
}
