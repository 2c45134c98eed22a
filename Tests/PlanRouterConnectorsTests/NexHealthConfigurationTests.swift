import Foundation
import PlanRouterCore
import Testing

@testable import PlanRouterConnectors

/// The NexHealth file, the signature check and the records the intake reads: pure logic.
@Suite struct NexHealthConfigurationTests {
    static let yaml = """
        organization_id: org-1
        api_key_env: NH_KEY
        webhook_secret_env: NH_SECRET
        signature_tolerance_seconds: 120
        institutions:
          - subdomain: bright
            time_zone: America/Chicago
            locations: { "21": loc-21, "22": loc-22 }
          - subdomain: other
            organization_id: org-2
            time_zone: America/New_York
            locations: { "5": loc-5 }
        """

    @Test func resolvesSecretsFromTheEnvironmentAndMapsLocations() throws {
        let account = try NexHealthConfiguration.load(Self.yaml).resolved(environment: ["NH_KEY": "k", "NH_SECRET": "s"])
        #expect(account.apiKey == "k")
        #expect(account.webhookSecret == "s")
        #expect(account.signatureTolerance == .seconds(120))
        #expect(account.baseURL == NexHealthConfiguration.defaultBaseURL)
        let bright = try #require(account.institution("bright"))
        #expect(bright.location(22) == "loc-22")
        #expect(bright.nexLocation("loc-21") == 21)
        #expect(bright.number(in: "bright-pat-115", kind: "pat") == 115)
        #expect(bright.number(in: "other-pat-115", kind: "pat") == nil)
        #expect(account.institution("other")?.organizationID == "org-2")
    }

    @Test func refusesAFileWithoutASecretOrWithABadZoneOrLocation() throws {
        #expect(throws: ConfigurationError.self) { try NexHealthConfiguration.load(Self.yaml).resolved(environment: [:]) }
        let badZone = Self.yaml.replacingOccurrences(of: "America/Chicago", with: "Mars/Olympus")
        #expect(throws: ConfigurationError.self) { try NexHealthConfiguration.load(badZone).resolved(environment: ["NH_SECRET": "s"]) }
        let badLocation = Self.yaml.replacingOccurrences(of: "\"5\"", with: "\"five\"")
        #expect(throws: ConfigurationError.self) {
            try NexHealthConfiguration.load(badLocation).resolved(environment: ["NH_SECRET": "s"])
        }
    }

    @Test func aSignatureIsValidOnlyForItsBodySecretAndTimeWindow() {
        let body = Array(#"{"subdomain":"bright"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ts = "1800000000"
        let sig = NexHealthSignature.sign(body: body, timestamp: ts, secret: "s")
        func verify(
            body b: [UInt8] = body, signature sg: String? = sig, timestamp t: String? = ts, secret: String = "s", at: Date = now
        ) -> NexHealthSignature.Verdict {
            NexHealthSignature.verify(body: b, signature: sg, timestamp: t, secret: secret, now: at, tolerance: .seconds(300))
        }
        #expect(verify() == .valid)
        #expect(verify(signature: sig.uppercased()) == .valid)
        #expect(verify(body: Array(#"{"subdomain":"brighT"}"#.utf8)) == .mismatch)
        #expect(verify(secret: "t") == .mismatch)
        #expect(verify(timestamp: "1800000001") == .mismatch)
        #expect(verify(signature: nil) == .missing)
        #expect(verify(timestamp: "yesterday") == .missing)
        #expect(verify(at: now.addingTimeInterval(301)) == .stale)
        #expect(verify(at: now.addingTimeInterval(-301)) == .stale)
        #expect(verify(at: now.addingTimeInterval(299)) == .valid)
        #expect(NexHealthSignature.deliveryKey(body: body) == NexHealthSignature.deliveryKey(body: body))
        #expect(NexHealthSignature.deliveryKey(body: body) != NexHealthSignature.deliveryKey(body: body + [0x20]))
    }

    @Test func readsAppointmentsPlansAndAmountsAsNexHealthWritesThem() throws {
        let a = try NHAppointment(
            try JSONParser.parse(
                #"{"id": 7, "patient_id": 5, "provider_id": 3, "location_id": 21, "start_time": "2026-12-03T15:00:00.000Z", "end_time": "2026-12-03T16:00:00Z", "patient_missed": true, "note": "x PlanRouter booking req-9 y"}"#
            ))
        #expect(a.status == .broken)
        #expect(a.writebackRequestID == "req-9")
        #expect(a.end.timeIntervalSince(a.start) == 3600)
        #expect(throws: NexHealthShapeError.self) { try NHAppointment(try JSONParser.parse(#"{"id": 7, "patient_id": 5}"#)) }
        #expect(nexHealthCents(try JSONParser.parse(#"{"amount": "310.50"}"#)) == 31_050)
        #expect(nexHealthCents(.int(12)) == 1200)
        #expect(nexHealthCents(.string("-1")) == nil)
        let thin = try NHTreatmentPlan(try JSONParser.parse(#"{"id": 1, "patient_id": 2, "status": "accepted"}"#))
        #expect(thin.procedures == nil)
        #expect(NHPatient.e164("(503) 555-0101") == "+15035550101")
        #expect(NHPatient.e164("555-0101") == nil)
    }
}
