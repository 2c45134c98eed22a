import Foundation
import PlanRouterCore
import Yams

/// `--nexhealth FILE` of `planrouter serve` (the webhook) and `planrouter connector nexhealth`
/// (intake and write-back): one NexHealth developer account (API key, one webhook endpoint and
/// its secret) and the institutions (subdomains) it reaches, each mapped to PlanRouter
/// locations. Secrets come from environment variables; inline only for local runs.
///
/// ```yaml
/// organization_id: org-1
/// base_url: https://nexhealth.info            # optional
/// api_key_env: NEXHEALTH_API_KEY
/// webhook_secret_env: NEXHEALTH_WEBHOOK_SECRET  # the endpoint's secret_key
/// signature_tolerance_seconds: 300             # older deliveries are refused as stale
/// institutions:
///   - subdomain: bright-smiles
///     time_zone: America/Chicago
///     locations: { "21": loc-21 }              # NexHealth location_id -> location_id
/// ```
public struct NexHealthConfiguration: Sendable, Decodable {
    public struct Institution: Sendable, Decodable {
        public var subdomain: String
        public var organizationID: String?
        public var timeZone: String
        public var locations: [String: String]

        enum CodingKeys: String, CodingKey {
            case subdomain, locations
            case organizationID = "organization_id"
            case timeZone = "time_zone"
        }
    }

    public var organizationID: String
    public var baseURL: String?
    public var apiKey: String?
    public var apiKeyEnv: String?
    public var webhookSecret: String?
    public var webhookSecretEnv: String?
    public var signatureToleranceSeconds: Int?
    public var institutions: [Institution]

    enum CodingKeys: String, CodingKey {
        case institutions
        case organizationID = "organization_id"
        case baseURL = "base_url"
        case apiKey = "api_key"
        case apiKeyEnv = "api_key_env"
        case webhookSecret = "webhook_secret"
        case webhookSecretEnv = "webhook_secret_env"
        case signatureToleranceSeconds = "signature_tolerance_seconds"
    }

    public static let defaultBaseURL = "https://nexhealth.info"

    public static func load(_ text: String) throws -> NexHealthConfiguration {
        try YAMLDecoder().decode(NexHealthConfiguration.self, from: text)
    }

    /// The configuration resolved against the environment (secrets) and checked.
    public func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NexHealthAccount {
        guard let secret = webhookSecret ?? webhookSecretEnv.flatMap({ environment[$0] }), !secret.isEmpty else {
            throw ConfigurationError("no webhook secret (set webhook_secret_env to a variable that holds the endpoint's secret_key)")
        }
        let tolerance = signatureToleranceSeconds ?? 300
        guard tolerance >= 1 else { throw ConfigurationError("signature_tolerance_seconds must be at least 1") }
        var seen = Set<String>()
        let resolved = try institutions.map { i in
            guard seen.insert(i.subdomain).inserted else { throw ConfigurationError("institution \(i.subdomain) is listed twice") }
            guard let zone = TimeZone(identifier: i.timeZone) else {
                throw ConfigurationError("institution \(i.subdomain): unknown time_zone \(i.timeZone)")
            }
            let locations = try i.locations.reduce(into: [Int64: String]()) { out, e in
                guard let n = Int64(e.key) else {
                    throw ConfigurationError("institution \(i.subdomain): location \(e.key) is not a number")
                }
                out[n] = e.value
            }
            guard !locations.isEmpty else { throw ConfigurationError("institution \(i.subdomain): map at least one location") }
            return NexHealthInstitution(
                subdomain: i.subdomain, organizationID: i.organizationID ?? organizationID, timeZone: zone, locations: locations)
        }
        return NexHealthAccount(
            baseURL: baseURL ?? Self.defaultBaseURL, apiKey: apiKey ?? apiKeyEnv.flatMap { environment[$0] } ?? "",
            webhookSecret: secret, signatureTolerance: .seconds(tolerance), institutions: resolved)
    }
}

/// One NexHealth developer account as the webhook and the connector use it.
public struct NexHealthAccount: Sendable {
    public var baseURL: String
    /// Empty when only the webhook is served (`planrouter serve` needs no API key).
    public var apiKey: String
    public var webhookSecret: String
    public var signatureTolerance: Duration
    public var institutions: [NexHealthInstitution]

    public init(
        baseURL: String, apiKey: String, webhookSecret: String, signatureTolerance: Duration = .seconds(300),
        institutions: [NexHealthInstitution]
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.webhookSecret = webhookSecret
        self.signatureTolerance = signatureTolerance
        self.institutions = institutions
    }

    public func institution(_ subdomain: String) -> NexHealthInstitution? { institutions.first { $0.subdomain == subdomain } }
}

/// One NexHealth institution (a subdomain: one practice group's PMS) and its locations.
public struct NexHealthInstitution: Sendable, Hashable {
    public var subdomain: String
    public var organizationID: String
    public var timeZone: TimeZone
    /// NexHealth location_id -> location_id.
    public var locations: [Int64: String]

    public init(subdomain: String, organizationID: String, timeZone: TimeZone, locations: [Int64: String]) {
        self.subdomain = subdomain
        self.organizationID = organizationID
        self.timeZone = timeZone
        self.locations = locations
    }

    /// The CloudEvents `source` of the institution's events, and the write-back's office id.
    public var source: String { "nexhealth/\(subdomain)" }

    // Our ids name the subdomain: NexHealth ids are the institution's.
    public func patientID(_ n: Int64) -> String { "\(subdomain)-pat-\(n)" }
    public func providerID(_ n: Int64) -> String { "\(subdomain)-prov-\(n)" }
    public func operatoryID(_ n: Int64) -> String { "\(subdomain)-op-\(n)" }
    public func appointmentID(_ n: Int64) -> String { "\(subdomain)-apt-\(n)" }
    public func planID(_ n: Int64) -> String { "\(subdomain)-tp-\(n)" }

    /// The NexHealth id inside one of our ids, nil if it is another institution's.
    public func number(in ourID: String, kind: String) -> Int64? {
        let prefix = "\(subdomain)-\(kind)-"
        guard ourID.hasPrefix(prefix) else { return nil }
        return Int64(ourID.dropFirst(prefix.count))
    }

    /// Our location for a NexHealth location id.
    public func location(_ nexID: Int64) -> String? { locations[nexID] }
    public func nexLocation(_ locationID: String) -> Int64? { locations.first { $0.value == locationID }?.key }
}
