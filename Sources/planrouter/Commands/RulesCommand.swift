import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Validate and load routing rules (YAML).",
        subcommands: [Validate.self, Load.self, Defaults.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a rules file; lists every error with its YAML path.")
        @Argument(help: "The rules file.") var file: String

        func run() async throws {
            try await reportingErrors {
                let rules = try RoutingRules(yaml: try readRulesFile(file))
                print(
                    "\(file): valid; tiers \(rules.tiers.map(\.name).joined(separator: ", ")); default \(rules.defaultTier); \(rules.locationOverrides.count) location overrides"
                )
            }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a rules file and store it as the organization's next version.",
            discussion:
                "Classifications record the version they used. Organization '*' holds the rules for organizations without their own.")
        @Argument(help: "The rules file.") var file: String
        @Option(help: "The organization the rules are for. Env: PLANROUTER_ORGANIZATION.") var organization: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                guard let org = organization ?? Environment.value("PLANROUTER_ORGANIZATION") else {
                    throw CLIError("give --organization (or '*' for every organization without its own rules)")
                }
                let yaml = try readRulesFile(file)
                let logger = try log.makeLogger("planrouter.rules", defaultLevel: .error)
                let conn = try await PostgresConnection.connect(try database.resolved(), logger: logger)
                defer { conn.close() }
                let (version, created) = try await RulesRepository.load(yaml: yaml, organization: org, on: conn, now: WallClock().now())
                print(
                    created
                        ? "loaded \(file) for \(org) as version \(version)"
                        : "unchanged: \(org) already has this file as version \(version)")
            }
        }
    }

    struct Defaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "defaults", abstract: "Print the shipped default rules (a starting point).")
        func run() async throws { print(RoutingRules.defaultYAML, terminator: "") }
    }
}

func readRulesFile(_ path: String) throws -> String { try readTextFile(path, what: "rules file") }
