import Crypto
import Foundation
import PlanRouterCore
import Testing
import _CryptoExtras

/// OIDC bearer tokens: signatures (RS256 through a JWKS, ES256), the registered claims and the
/// claims that name organization, role and locations; every refusal has its own reason.
@Suite struct StaffTokenVerifierTests {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    /// P256.Signing.PrivateKey is not Sendable in this swift-crypto: kept as its raw bytes.
    static let ecRaw = P256.Signing.PrivateKey().rawRepresentation
    static var ec: P256.Signing.PrivateKey { try! P256.Signing.PrivateKey(rawRepresentation: ecRaw) }
    static let now = Date(timeIntervalSince1970: 1_796_000_000)

    static func b64(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The JWKS an identity provider would publish for both keys.
    static var jwks: String {
        let p = try! rsa.publicKey.getKeyPrimitives()
        let raw = ec.publicKey.rawRepresentation
        return """
            {"keys": [
              {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": "\(b64(p.modulus))", "e": "\(b64(p.publicExponent))"},
              {"kty": "EC", "kid": "e1", "crv": "P-256", "x": "\(b64(raw.prefix(32)))", "y": "\(b64(raw.suffix(32)))"},
              {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}
            ]}
            """
    }

    static func verifier() throws -> StaffTokenVerifier {
        StaffTokenVerifier(issuer: "https://idp.example.org/", audiences: ["planrouter-staff"], keys: try StaffTokenVerifier.Key.jwks(jwks))
    }

    static var claims: [String: Any] {
        [
            "iss": "https://idp.example.org/", "aud": ["planrouter-staff", "other"], "sub": "00u1abc",
            "exp": now.timeIntervalSince1970 + 300,
            "planrouter_org": "org-1", "planrouter_role": ["coordinator", "location_manager"], "planrouter_locations": ["loc-12"],
        ]
    }

    static func token(_ claims: [String: Any] = claims, alg: String = "RS256", kid: String? = "r1", sign: Bool = true) -> String {
        var header: [String: Any] = ["alg": alg, "typ": "JWT"]
        if let kid { header["kid"] = kid }
        let h = b64(try! JSONSerialization.data(withJSONObject: header, options: .sortedKeys))
        let p = b64(try! JSONSerialization.data(withJSONObject: claims, options: .sortedKeys))
        let input = Data("\(h).\(p)".utf8)
        guard sign else { return "\(h).\(p)." }
        let signature: Data =
            alg == "ES256"
            ? try! ec.signature(for: input).rawRepresentation
            : try! rsa.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation
        return "\(h).\(p).\(b64(signature))"
    }

    static func refusal(_ token: String, _ v: StaffTokenVerifier? = nil) throws -> StaffTokenVerifier.Refusal? {
        do {
            _ = try (v ?? verifier()).verify(token, now: now)
            return nil
        } catch let r as StaffTokenVerifier.Refusal {
            return r
        }
    }

    @Test func aValidRS256TokenBecomesItsPrincipal() throws {
        let p = try Self.verifier().verify(Self.token(), now: Self.now)
        #expect(p.kind == .identityProvider && p.id == "00u1abc" && p.actor == "oidc:00u1abc")
        #expect(p.organizationID == "org-1" && p.role == .locationManager && p.locations == ["loc-12"])
    }

    @Test func aValidES256TokenIsAcceptedToo() throws {
        var c = Self.claims
        c["planrouter_locations"] = nil
        c["planrouter_role"] = "coordinator"
        let p = try Self.verifier().verify(Self.token(c, alg: "ES256", kid: "e1"), now: Self.now)
        #expect(p.role == .coordinator && p.locations == nil)
    }

    @Test func signaturesAndAlgorithmsAreCheckedAgainstTheConfiguredKeys() throws {
        let good = Self.token()
        var parts = good.split(separator: ".").map(String.init)
        // Another payload under the original signature.
        var c = Self.claims
        c["planrouter_role"] = "org_admin"
        parts[1] = Self.token(c).split(separator: ".").map(String.init)[1]
        #expect(try Self.refusal(parts.joined(separator: ".")) == .badSignature)
        #expect(try Self.refusal(Self.token(alg: "none", sign: false)) == .unsupportedAlgorithm)
        // HS256 with the public key as the HMAC secret: the classic confusion; refused before any check.
        #expect(try Self.refusal(Self.token(alg: "HS256")) == .unsupportedAlgorithm)
        // An RS256 signature presented as ES256 (and the reverse).
        #expect(try Self.refusal(Self.token(alg: "RS256", kid: "e1")) == .unknownKey)
        #expect(try Self.refusal(Self.token(alg: "RS256", kid: "nope")) == .unknownKey)
        #expect(try Self.refusal("a.b") == .malformed)
        #expect(try Self.refusal("!!.??.**") == .malformed)
        #expect(try Self.refusal(String(repeating: "a", count: 20_000) + ".b.c") == .malformed)
        let other = StaffTokenVerifier(
            issuer: "https://idp.example.org/", audiences: ["planrouter-staff"],
            keys: [try .pem(try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey.pemRepresentation)])
        #expect(try Self.refusal(Self.token(kid: nil), other) == .badSignature)
    }

    @Test func theRegisteredClaimsAreEnforced() throws {
        func with(_ key: String, _ value: Any?) -> String {
            var c = Self.claims
            c[key] = value
            return Self.token(c)
        }
        let t = Self.now.timeIntervalSince1970
        #expect(try Self.refusal(with("exp", t - 61)) == .expired)
        #expect(try Self.refusal(with("exp", t - 59)) == nil)  // within the 60 s leeway
        #expect(try Self.refusal(with("exp", nil)) == .missingClaim("exp"))
        #expect(try Self.refusal(with("nbf", t + 120)) == .notYetValid)
        #expect(try Self.refusal(with("iss", "https://evil.example/")) == .wrongIssuer)
        #expect(try Self.refusal(with("aud", "someone-else")) == .wrongAudience)
        #expect(try Self.refusal(with("aud", "planrouter-staff")) == nil)
        #expect(try Self.refusal(with("sub", "")) == .missingClaim("sub"))
        #expect(try Self.refusal(with("planrouter_org", nil)) == .missingClaim("planrouter_org"))
        #expect(try Self.refusal(with("planrouter_role", "superuser")) == .unknownRole)
        #expect(try Self.refusal(with("planrouter_role", nil)) == .missingClaim("planrouter_role"))
    }

    @Test func aSingleOrganizationProviderNeedNotSayTheOrganizationButMayNotNameAnother() throws {
        var v = try Self.verifier()
        v.fixedOrganization = "org-1"
        var c = Self.claims
        c["planrouter_org"] = nil
        #expect(try v.verify(Self.token(c), now: Self.now).organizationID == "org-1")
        c["planrouter_org"] = "org-2"
        #expect(try Self.refusal(Self.token(c), v) == .wrongOrganization)
    }

    @Test func theConfigurationFileNamesEveryProblem() throws {
        let v = try StaffTokenVerifier(
            yaml: """
                issuer: https://idp.example.org/
                audience: [planrouter-staff]
                jwks_file: jwks.json
                organization: org-1
                claims: { role: groups }
                leeway: 2m
                """, readFile: { _ in Self.jwks })
        #expect(v.keys.count == 2 && v.claims.role == "groups" && v.leeway == 120 && v.fixedOrganization == "org-1")
        let error = try #require(throws: RulesValidationError.self) {
            try StaffTokenVerifier(
                yaml: "jwks_file: missing.json\ncolour: blue\n", readFile: { _ in throw StaffTokenConfigurationError("no such file") })
        }
        #expect(Set(error.errors.map(\.path)) == ["colour", "jwks_file", "issuer", "audience"])
    }
}
