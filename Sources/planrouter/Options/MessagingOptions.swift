import ArgumentParser
import Foundation
import PlanRouterCore

/// The messaging configuration file (channels per organization), shared by `worker notify`
/// and `serve` (which verifies the providers' webhooks with the same credentials).
struct MessagingOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "YAML file of each organization's SMS (Twilio) and email (SMTP) settings. Env: PLANROUTER_MESSAGING_CONFIG.",
            discussion: "Secrets are named by environment variable (auth_token_env, password_env); docs/messaging.md has the format."))
    var messagingConfig: String?

    /// nil when no file is named.
    func resolved() throws -> MessagingConfiguration? {
        guard let path = messagingConfig ?? Environment.value("PLANROUTER_MESSAGING_CONFIG") else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CLIError("cannot read the messaging configuration \(path)")
        }
        do {
            return try MessagingConfiguration.parse(yaml: text, environment: ProcessInfo.processInfo.environment)
        } catch let e as MessagingConfigurationError {
            throw CLIError(e.description)
        } catch {
            throw CLIError("messaging configuration \(path) is not valid YAML")
        }
    }
}
