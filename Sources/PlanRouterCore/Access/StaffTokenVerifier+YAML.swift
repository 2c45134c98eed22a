import Foundation
import Yams

extension StaffTokenVerifier {
    /// Reads the identity-provider file of `serve --staff-oidc` (docs/staff-access.md); `readFile`
    /// opens the key file it names (relative paths: the caller resolves them). Every problem is
    /// listed with its path, as the rules file's are.
    public init(yaml: String, readFile: (String) throws -> String) throws {
        guard let root = try? Yams.compose(yaml: yaml) else {
            throw RulesValidationError(errors: [RulesError(path: "", line: nil, message: "not valid YAML, or empty")])
        }
        var r = RulesReader()
        var issuer: String?
        var audiences: Set<String> = []
        var keys: [Key] = []
        var claims = Claims()
        var organization: String?
        var leeway = 60
        let allowed: Set<String> = ["issuer", "audience", "jwks_file", "pem_file", "organization", "claims", "leeway"]
        for (key, v) in r.mapping(root, "", allowed: allowed) ?? [] {
            switch key {
            case "issuer": issuer = r.string(v, key)
            case "audience":
                audiences = Set(v.sequence.map { $0.compactMap { r.string($0, key) } } ?? r.string(v, key).map { [$0] } ?? [])
            case "jwks_file", "pem_file":
                guard let path = r.string(v, key) else { break }
                do {
                    let text = try readFile(path)
                    keys += key == "jwks_file" ? try Key.jwks(text) : [try Key.pem(text)]
                } catch {
                    r.fail(key, v, "\(path): \(error)")
                }
            case "organization": organization = r.string(v, key)
            case "claims":
                for (c, name) in r.mapping(v, key, allowed: ["organization", "role", "locations"]) ?? [] {
                    guard let n = r.string(name, "claims.\(c)") else { continue }
                    switch c {
                    case "organization": claims.organization = n
                    case "role": claims.role = n
                    default: claims.locations = n
                    }
                }
            default: leeway = (r.duration(v, key) ?? 60)
            }
        }
        if issuer == nil { r.fail("issuer", nil, "missing: the `iss` your identity provider puts in its tokens") }
        if audiences.isEmpty { r.fail("audience", nil, "missing: the `aud` (client id or API identifier) tokens must carry") }
        if keys.isEmpty, !r.errors.contains(where: { $0.path.hasSuffix("_file") }) {
            r.fail("jwks_file", nil, "missing: give jwks_file (the provider's JWKS, saved) or pem_file")
        }
        if !r.errors.isEmpty { throw RulesValidationError(errors: r.errors) }
        self.init(issuer: issuer!, audiences: audiences, keys: keys)
        self.claims = claims
        self.fixedOrganization = organization
        self.leeway = TimeInterval(leeway)
    }
}
