import Foundation
import Yams

/// Which channel adapters an organization uses, and their credentials (`--messaging-config`,
/// a YAML file; docs/messaging.md). Secrets are named by environment variable (`*_env`),
/// so the file can be checked in; a literal value is accepted for local development.
public struct MessagingConfiguration: Sendable {
    /// Twilio's Messages API for one account and sender number.
    public struct SMS: Sendable, Hashable {
        public var accountSID: String
        public var authToken: String
        /// The sender: an E.164 number of the account.
        public var from: String
        /// `https://api.twilio.com` in production; the emulator's address locally.
        public var apiBaseURL: String
        /// Our public status-callback URL (`/webhooks/twilio/status`); nil: no callbacks.
        public var statusCallbackURL: String?
        /// Most messages per second through this sender (Twilio queues beyond a number's rate).
        public var ratePerSecond: Double

        public init(
            accountSID: String, authToken: String, from: String, apiBaseURL: String = "https://api.twilio.com",
            statusCallbackURL: String? = nil, ratePerSecond: Double = 1
        ) {
            self.accountSID = accountSID
            self.authToken = authToken
            self.from = from
            self.apiBaseURL = apiBaseURL
            self.statusCallbackURL = statusCallbackURL
            self.ratePerSecond = ratePerSecond
        }
    }

    /// An SMTP relay (any provider's: SendGrid and SES SMTP work the same way).
    public struct Email: Sendable, Hashable {
        public enum StartTLS: String, Sendable, Hashable {
            /// Never upgrade (a relay on localhost).
            case off
            /// Upgrade when the server offers it.
            case optional
            /// Refuse to send over a server that does not offer it.
            case required
        }
        public var host: String
        public var port: Int
        /// The From header and envelope sender, e.g. `Smile Dental <no-reply@smile.example>`.
        public var from: String
        public var username: String?
        public var password: String?
        public var startTLS: StartTLS
        /// Accept any certificate after STARTTLS: only for a local test relay.
        public var insecureSkipVerify: Bool
        public var ratePerSecond: Double

        public init(
            host: String, port: Int, from: String, username: String? = nil, password: String? = nil, startTLS: StartTLS = .required,
            insecureSkipVerify: Bool = false, ratePerSecond: Double = 10
        ) {
            self.host = host
            self.port = port
            self.from = from
            self.username = username
            self.password = password
            self.startTLS = startTLS
            self.insecureSkipVerify = insecureSkipVerify
            self.ratePerSecond = ratePerSecond
        }
    }

    /// Deposits through Stripe Checkout (docs/payments.md).
    public struct Payments: Sendable, Hashable {
        /// `sk_live_…` / `sk_test_…` (or a restricted key that may create Checkout Sessions).
        public var secretKey: String
        /// The webhook endpoint's signing secret (`whsec_…`).
        public var webhookSecret: String
        public var apiBaseURL: String
        /// Where Stripe sends the patient after paying, and when they leave the checkout page.
        public var successURL: String
        public var cancelURL: String

        public init(secretKey: String, webhookSecret: String, apiBaseURL: String, successURL: String, cancelURL: String) {
            self.secretKey = secretKey
            self.webhookSecret = webhookSecret
            self.apiBaseURL = apiBaseURL
            self.successURL = successURL
            self.cancelURL = cancelURL
        }
    }

    public struct Organization: Sendable {
        public var practiceName: String
        public var practicePhone: String?
        public var sms: SMS?
        public var email: Email?
        public var payments: Payments?

        public init(practiceName: String, practicePhone: String? = nil, sms: SMS? = nil, email: Email? = nil, payments: Payments? = nil) {
            self.practiceName = practiceName
            self.practicePhone = practicePhone
            self.sms = sms
            self.email = email
            self.payments = payments
        }
    }

    /// By organization id; `*` serves every organization not listed.
    public var organizations: [String: Organization]

    public init(organizations: [String: Organization]) { self.organizations = organizations }

    public func organization(_ id: String) -> Organization? { organizations[id] ?? organizations["*"] }

    /// The organization whose SMS sender is `number` (inbound texts are addressed to it).
    public func organization(sender number: String) -> (id: String, Organization)? {
        organizations.sorted { $0.key < $1.key }.first { $0.value.sms?.from == number }.map { ($0.key, $0.value) }
    }

    /// The SMS settings of the account `sid` (status callbacks name it).
    public func sms(account sid: String) -> SMS? {
        organizations.values.compactMap(\.sms).first { $0.accountSID == sid }
    }
}

public struct MessagingConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ d: String) { description = d }
}

extension MessagingConfiguration {
    /// Parses the YAML file's text; `environment` resolves the `*_env` secrets.
    public static func parse(yaml: String, environment: [String: String]) throws -> MessagingConfiguration {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any], let orgs = root["organizations"] as? [String: Any] else {
            throw MessagingConfigurationError("messaging configuration: expected a mapping `organizations:`")
        }
        var out: [String: Organization] = [:]
        for (id, value) in orgs {
            guard let o = value as? [String: Any] else { throw MessagingConfigurationError("organizations.\(id): expected a mapping") }
            let practice = o["practice"] as? [String: Any] ?? [:]
            var org = Organization(practiceName: string(practice["name"]) ?? id, practicePhone: string(practice["phone"]))
            if let s = o["sms"] as? [String: Any] {
                let at = "organizations.\(id).sms"
                org.sms = SMS(
                    accountSID: try required(s, "account_sid", at),
                    authToken: try secret(s, "auth_token", at, environment),
                    from: try required(s, "from", at),
                    apiBaseURL: string(s["api_base_url"]) ?? "https://api.twilio.com",
                    statusCallbackURL: string(s["status_callback_url"]),
                    ratePerSecond: try rate(s, at, default: 1))
            }
            if let s = o["payments"] as? [String: Any] {
                let at = "organizations.\(id).payments"
                org.payments = Payments(
                    secretKey: try secret(s, "secret_key", at, environment),
                    webhookSecret: try secret(s, "webhook_secret", at, environment),
                    apiBaseURL: string(s["api_base_url"]) ?? "https://api.stripe.com", successURL: try required(s, "success_url", at),
                    cancelURL: try required(s, "cancel_url", at))
            }
            if let e = o["email"] as? [String: Any] {
                let at = "organizations.\(id).email"
                let tlsText = string(e["starttls"]) ?? "required"
                guard let tls = Email.StartTLS(rawValue: tlsText) else {
                    throw MessagingConfigurationError("\(at).starttls: off, optional or required, not \(tlsText)")
                }
                guard let port = Int(string(e["port"]) ?? "587"), (1...65_535).contains(port) else {
                    throw MessagingConfigurationError("\(at).port: a port number")
                }
                let username = string(e["username"])
                org.email = Email(
                    host: try required(e, "host", at), port: port, from: try required(e, "from", at), username: username,
                    password: username == nil ? nil : try secret(e, "password", at, environment), startTLS: tls,
                    insecureSkipVerify: (e["insecure_skip_verify"] as? Bool) ?? false, ratePerSecond: try rate(e, at, default: 10))
            }
            out[id] = org
        }
        return MessagingConfiguration(organizations: out)
    }

    private static func string(_ v: Any?) -> String? {
        switch v {
        case let s as String: s
        case let i as Int: String(i)
        default: nil
        }
    }

    private static func required(_ o: [String: Any], _ key: String, _ at: String) throws -> String {
        guard let v = string(o[key]), !v.isEmpty else { throw MessagingConfigurationError("\(at).\(key) is required") }
        return v
    }

    /// `<key>_env: NAME` (read from the environment) or, for local use, `<key>: value`.
    private static func secret(_ o: [String: Any], _ key: String, _ at: String, _ env: [String: String]) throws -> String {
        if let name = string(o[key + "_env"]) {
            guard let v = env[name], !v.isEmpty else {
                throw MessagingConfigurationError("\(at).\(key)_env names \(name), which is not set")
            }
            return v
        }
        return try required(o, key, at)
    }

    private static func rate(_ o: [String: Any], _ at: String, default d: Double) throws -> Double {
        guard let v = o["rate_per_second"] else { return d }
        guard let r = (v as? Double) ?? (v as? Int).map(Double.init), r > 0 else {
            throw MessagingConfigurationError("\(at).rate_per_second must be a positive number")
        }
        return r
    }
}
