import Crypto
import Foundation
import _CryptoExtras

/// Verifies OIDC / JWT bearer tokens from the organization's identity provider (Okta, Entra ID,
/// Auth0, Google…) against keys from configuration, and turns their claims into a principal.
///
/// Only what OIDC access and ID tokens use is accepted: JWS compact form, RS256 or ES256 (the
/// algorithm comes from the configured key, never from the token alone, so `none` and HS256 key
/// confusion cannot happen), `iss`, `aud`, `exp` (required), `nbf`, and `sub`.
public struct StaffTokenVerifier: Sendable {
    public enum Algorithm: String, Sendable, Hashable {
        case rs256 = "RS256"
        case es256 = "ES256"
    }

    /// One verification key, from a JWKS document or a PEM file.
    public struct Key: Sendable {
        enum Material: Sendable {
            case rsa(_RSA.Signing.PublicKey)
            /// x ‖ y (P256.Signing.PublicKey is not Sendable in this swift-crypto; rebuilt per check, ~µs).
            case p256(raw: [UInt8])
        }

        public var id: String?
        var material: Material
        public var algorithm: Algorithm {
            switch material {
            case .rsa: .rs256
            case .p256: .es256
            }
        }
    }

    /// Which claims carry the organization, role and locations.
    public struct Claims: Sendable, Hashable {
        public var organization = "planrouter_org"
        public var role = "planrouter_role"
        public var locations = "planrouter_locations"
        public init() {}
    }

    public var issuer: String
    public var audiences: Set<String>
    public var keys: [Key]
    public var claims = Claims()
    /// Tokens of an identity provider that serves one organization need not carry the claim.
    public var fixedOrganization: String?
    /// Clock skew allowed on `exp` and `nbf`.
    public var leeway: TimeInterval = 60

    public init(issuer: String, audiences: Set<String>, keys: [Key]) {
        self.issuer = issuer
        self.audiences = audiences
        self.keys = keys
    }

    /// Why a token was refused. Logged as a reason class only: never the token or its claims.
    public enum Refusal: Error, Sendable, Equatable {
        case malformed
        case unsupportedAlgorithm
        case unknownKey
        case badSignature
        case expired
        case notYetValid
        case wrongIssuer
        case wrongAudience
        case missingClaim(String)
        case unknownRole
        case wrongOrganization
    }

    /// A principal for a valid token, or the reason it is not one.
    public func verify(_ token: String, now: Date) throws(Refusal) -> StaffPrincipal {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 16 * 1024, parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
            let payloadBytes = Base64URL.decode(String(parts[1])), let signature = Base64URL.decode(String(parts[2])),
            let header = (try? JSONParser.parse(String(decoding: headerBytes, as: UTF8.self)))?.objectValue,
            let claims = (try? JSONParser.parse(String(decoding: payloadBytes, as: UTF8.self)))?.objectValue
        else { throw .malformed }
        guard let alg = header["alg"]?.stringValue.flatMap(Algorithm.init(rawValue:)) else { throw .unsupportedAlgorithm }
        // Extensions the verifier must understand are not understood here (RFC 7515 §4.1.11).
        guard header["crit"] == nil else { throw .malformed }
        let kid = header["kid"]?.stringValue
        let candidates = keys.filter { $0.algorithm == alg && (kid == nil || $0.id == nil || $0.id == kid) }
        guard !candidates.isEmpty else { throw .unknownKey }
        let signed = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard candidates.contains(where: { Self.isValid(signature, over: signed, with: $0) }) else { throw .badSignature }

        guard let exp = claims["exp"].flatMap(Self.seconds) else { throw .missingClaim("exp") }
        guard now.timeIntervalSince1970 < exp + leeway else { throw .expired }
        if let nbf = claims["nbf"].flatMap(Self.seconds), now.timeIntervalSince1970 + leeway < nbf { throw .notYetValid }
        guard claims["iss"]?.stringValue == issuer else { throw .wrongIssuer }
        let aud = claims["aud"].map { $0.stringValue.map { [$0] } ?? $0.arrayValue?.compactMap(\.stringValue) ?? [] } ?? []
        guard aud.contains(where: audiences.contains) else { throw .wrongAudience }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty, subject.utf8.count <= 255 else { throw .missingClaim("sub") }

        let claimed = claims[self.claims.organization]?.stringValue
        guard let organization = fixedOrganization ?? claimed else { throw .missingClaim(self.claims.organization) }
        if let fixedOrganization, let claimed, claimed != fixedOrganization { throw .wrongOrganization }
        // A string, or a list (group claims): the most privileged PlanRouter role named wins.
        let roleNames = claims[self.claims.role].map { $0.stringValue.map { [$0] } ?? $0.arrayValue?.compactMap(\.stringValue) ?? [] } ?? []
        guard !roleNames.isEmpty else { throw .missingClaim(self.claims.role) }
        guard let role = StaffRole.allCases.last(where: { roleNames.contains($0.rawValue) }) else { throw .unknownRole }
        let locations = claims[self.claims.locations]?.arrayValue.map { Set($0.compactMap(\.stringValue)) }
        return StaffPrincipal(kind: .identityProvider, id: subject, organizationID: organization, role: role, locations: locations)
    }

    /// A NumericDate (seconds since the epoch, RFC 7519 §2).
    static func seconds(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): Double(i)
        case .double(let d) where d.isFinite: d
        default: nil
        }
    }

    static func isValid(_ signature: [UInt8], over data: [UInt8], with key: Key) -> Bool {
        switch key.material {
        case .rsa(let k):
            return k.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
        case .p256(let raw):
            guard let k = try? P256.Signing.PublicKey(rawRepresentation: raw),
                let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return k.isValidSignature(s, for: SHA256.hash(data: data))
        }
    }
}

extension StaffTokenVerifier.Key {
    /// Keys of a JWKS document (`{"keys": [...]}`), as identity providers publish at their
    /// `jwks_uri`: RSA (`n`, `e`) and EC P-256 (`x`, `y`) signing keys. Keys for other uses or
    /// curves are skipped; none left is an error.
    public static func jwks(_ json: String) throws -> [Self] {
        guard let keys = (try? JSONParser.parse(json))?["keys"]?.arrayValue else {
            throw StaffTokenConfigurationError("not a JWKS document (an object with a \"keys\" list)")
        }
        var out: [Self] = []
        for k in keys {
            guard k["use"]?.stringValue ?? "sig" == "sig" else { continue }
            let kid = k["kid"]?.stringValue
            switch (k["kty"]?.stringValue, k["crv"]?.stringValue) {
            case ("RSA", _):
                guard let n = k["n"]?.stringValue.flatMap(Base64URL.decode), let e = k["e"]?.stringValue.flatMap(Base64URL.decode),
                    let key = try? _RSA.Signing.PublicKey(n: n, e: e)
                else {
                    throw StaffTokenConfigurationError(
                        "RSA key \(kid ?? "?"): n and e must be base64url numbers of a 2048-bit or larger key")
                }
                out.append(Self(id: kid, material: .rsa(key)))
            case ("EC", "P-256"):
                guard let x = k["x"]?.stringValue.flatMap(Base64URL.decode), let y = k["y"]?.stringValue.flatMap(Base64URL.decode),
                    x.count == 32, y.count == 32, let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
                else { throw StaffTokenConfigurationError("EC key \(kid ?? "?"): x and y must be base64url P-256 coordinates") }
                out.append(Self(id: kid, material: .p256(raw: Array(key.rawRepresentation))))
            default: continue
            }
        }
        guard !out.isEmpty else { throw StaffTokenConfigurationError("the JWKS has no RS256 or ES256 signing key") }
        return out
    }

    /// A public key in PEM (`-----BEGIN PUBLIC KEY-----`), RSA or P-256.
    public static func pem(_ text: String, id: String? = nil) throws -> Self {
        if let k = try? _RSA.Signing.PublicKey(pemRepresentation: text) { return Self(id: id, material: .rsa(k)) }
        if let k = try? P256.Signing.PublicKey(pemRepresentation: text) {
            return Self(id: id, material: .p256(raw: Array(k.rawRepresentation)))
        }
        throw StaffTokenConfigurationError("not an RSA (2048-bit or larger) or P-256 public key in PEM")
    }
}

public struct StaffTokenConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
