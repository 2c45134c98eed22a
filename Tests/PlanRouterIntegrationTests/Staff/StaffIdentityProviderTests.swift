import Crypto
import Foundation
import HummingbirdTesting
import PlanRouterCore
import PlanRouterStaff
import Testing

/// OIDC bearer tokens on the staff surface: a credential like a key, scoped to the organization
/// and role its claims name, audited as `oidc:<sub>`.
@Suite struct StaffIdentityProviderTests {
    /// An ES256 identity provider; the key lives as raw bytes (the key type is not Sendable here).
    struct Provider: Sendable {
        let raw = P256.Signing.PrivateKey().rawRepresentation

        var verifier: StaffTokenVerifier {
            get throws {
                let pub = try P256.Signing.PrivateKey(rawRepresentation: raw).publicKey.rawRepresentation
                let jwks =
                    #"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "x": "\#(b64(pub.prefix(32)))", "y": "\#(b64(pub.suffix(32)))"}]}"#
                return StaffTokenVerifier(
                    issuer: "https://idp.example.org/", audiences: ["planrouter-staff"], keys: try StaffTokenVerifier.Key.jwks(jwks))
            }
        }

        func token(org: String, role: String, sub: String = "00u1abc", expiresIn: TimeInterval = 300) throws -> String {
            let claims: [String: Any] = [
                "iss": "https://idp.example.org/", "aud": "planrouter-staff", "sub": sub, "planrouter_org": org, "planrouter_role": role,
                "exp": BookingFixture.now.timeIntervalSince1970 + expiresIn,
            ]
            let h = b64(Data(#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#.utf8))
            let p = b64(try JSONSerialization.data(withJSONObject: claims))
            let s = try P256.Signing.PrivateKey(rawRepresentation: raw).signature(for: Data("\(h).\(p)".utf8)).rawRepresentation
            return "\(h).\(p).\(b64(s))"
        }
    }

    static func b64(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test func aTokenOfTheIdentityProviderIsACredentialForItsOrganizationOnly() async throws {
        let idp = Provider()
        let f = try await StaffFixture(tokenVerifier: try idp.verifier)
        let (taskA, taskB) = (try await f.taskID("p1", org: "org-1"), try await f.taskID("p1", org: "org-2"))
        let coordinator = try idp.token(org: "org-1", role: "coordinator")
        try await f.test { client async throws in
            let list = try await client.staffGet("/tasks", key: coordinator)
            #expect(list.status == .ok)
            #expect((list.json["tasks"]?.arrayValue ?? []).map { $0["id"]?.stringValue } == [taskA])
            #expect(try await client.resolve(taskB, "declined", key: coordinator).status == .notFound)
            // The role the claims name is the role: a coordinator may not read the audit.
            #expect(try await client.staffGet("/audit", key: coordinator).status == .forbidden)
            #expect(try await client.resolve(taskA, "declined", key: coordinator).status == .ok)
            let admin = try idp.token(org: "org-1", role: "org_admin", sub: "00u9adm")
            let entries = try await client.staffGet("/audit", key: admin).json["entries"]?.arrayValue ?? []
            #expect(entries.map { $0["actor"]?.stringValue } == ["oidc:00u1abc"])
            // Expired, or signed by someone else: unauthenticated, like an unknown key.
            #expect(
                try await client.staffGet("/tasks", key: try idp.token(org: "org-1", role: "coordinator", expiresIn: -120)).status
                    == .unauthorized)
            #expect(try await client.staffGet("/tasks", key: try Provider().token(org: "org-1", role: "org_admin")).status == .unauthorized)
        }
        await f.pool.close()
    }

    @Test func withoutAnIdentityProviderConfiguredTokensAreRefused() async throws {
        let f = try await StaffFixture()
        let token = try Provider().token(org: "org-1", role: "org_admin")
        try await f.test { client async throws in #expect(try await client.staffGet("/tasks", key: token).status == .unauthorized) }
        await f.pool.close()
    }
}
