import Foundation
import PlanRouterCore
import PlanRouterStore
import Testing

@testable import PlanRouterConnectors

/// The acceptance rules on records shaped like Open Dental's documented examples.
@Suite struct AcceptanceInferenceTests {
    let office = OpenDentalOffice(
        id: "office-12", organizationID: "org-1", customerKey: "k", timeZone: TimeZone(identifier: "America/New_York")!,
        clinics: [3: "loc-12"])

    func plan(_ status: String, signed: String = "0001-01-01 00:00:00") throws -> ODTreatPlanRecord {
        try ODTreatPlanRecord(
            .object([
                "TreatPlanNum": 963, "PatNum": 722, "TPStatus": .string(status), "SecDateTEdit": "2026-12-01 09:33:46",
                "DateTSigned": .string(signed),
            ]))
    }

    func line(_ num: Int64, code: String, fee: Double, planned: Int64 = 0, status: String = "TP") throws -> ODPlanLine {
        try ODPlanLine(
            procedure: .object([
                "ProcNum": .int(num), "PatNum": 722, "procCode": .string(code), "descript": "x",
                "ProcFee": .string(String(format: "%.2f", fee)),
                "ProvNum": 11, "ClinicNum": 3, "ProcStatus": .string(status), "PlannedAptNum": .int(planned),
            ]))
    }

    let patient = try! ODPatientRecord(.object(["PatNum": 722, "FName": "Jane", "WirelessPhone": "(536)987-4822", "TxtMsgOk": "Unknown"]))

    @Test func anUnsignedActivePlanIsNotAnAcceptance() throws {
        let s = AcceptanceInference.Snapshot(plan: try plan("Active"), lines: [try line(1154, code: "D2393", fee: 204)], patient: patient)
        #expect(try AcceptanceInference(office: office).decide(s, previous: nil, covered: []) == nil)
    }

    @Test func aSignedActivePlanIsAcceptedAtItsSignature() throws {
        let s = AcceptanceInference.Snapshot(
            plan: try plan("Active", signed: "2026-12-01 09:30:00"), lines: [try line(1154, code: "D2393", fee: 204)], patient: patient)
        let d = try #require(try AcceptanceInference(office: office).decide(s, previous: nil, covered: []))
        guard case .accepted(let e) = d.signal else {
            Issue.record("not an acceptance")
            return
        }
        #expect(e.planID == "office-12-tp-963")
        #expect(e.locationID == "loc-12")
        #expect(RFC3339.format(e.acceptedAt) == "2026-12-01T14:30:00Z")
        #expect(e.patient.phone == "+15369874822")
        // TxtMsgOk "Unknown" is not consent to text.
        #expect(e.patient.smsConsent == false)
        #expect(e.patient.preferred == .phone)
        #expect(e.totalFeeCents == 20_400)
    }

    @Test func proceduresASignedCopyCoversAreNotASecondAcceptance() throws {
        let s = AcceptanceInference.Snapshot(
            plan: try plan("Active"), lines: [try line(1154, code: "D2393", fee: 204, planned: 55)], patient: patient,
            planned: nil)
        #expect(try AcceptanceInference(office: office).decide(s, previous: nil, covered: [1154]) == nil)
        #expect(try AcceptanceInference(office: office).decide(s, previous: nil, covered: []) != nil)
    }

    @Test func aPublishedPlanWhoseProceduresAreAllDeletedIsRevoked() throws {
        let previous = ConnectorPlanState(
            pmsPlan: "963", planID: "office-12-tp-963", locationID: "loc-12", patient: "722", state: .accepted, fingerprint: "f",
            procedures: "1154")
        let s = AcceptanceInference.Snapshot(
            plan: try plan("Active", signed: "2026-12-01 09:30:00"), lines: [try line(1154, code: "D2393", fee: 204, status: "D")],
            patient: nil)
        let d = try #require(try AcceptanceInference(office: office).decide(s, previous: previous, covered: []))
        guard case .revoked(let e) = d.signal else {
            Issue.record("not a revocation")
            return
        }
        #expect(e.change == .acceptanceRevoked)
        #expect(d.state.state == .revoked)
    }

    @Test func aNegativeFeeIsAMalformedRecord() {
        #expect(throws: MalformedRecord.self) { try line(1, code: "D2393", fee: -1) }
    }
}
