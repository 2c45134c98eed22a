import ArgumentParser
import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

struct LocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locations", abstract: "Validate and load an organization's locations file (locations.yaml).",
        discussion: "Names, phones and addresses patients read, time zones, case owners per tier, quiet hours and same-day targets "
            + "(docs/configuration.md). Each changed load is the organization's next version.",
        subcommands: [Validate.self, Load.self, Example.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a locations file; lists every error with its YAML path.")
        @Argument(help: "The locations file.") var file: String

        func run() async throws {
            try await reportingErrors {
                let d = try LocationDirectory(yaml: try readTextFile(file, what: "locations file"))
                print("\(file): valid; organization \(d.organizationID); \(d.locations.count) location(s)")
            }
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a locations file and apply it as its organization's next version.",
            discussion: "Locations the file does not list are left as they are and named in the output.")
        @Argument(help: "The locations file.") var file: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var log: LogOptions

        func run() async throws {
            try await reportingErrors {
                let yaml = try readTextFile(file, what: "locations file")
                let logger = try log.makeLogger("planrouter.locations", defaultLevel: .error)
                let conn = try await PostgresConnection.connect(try database.resolved(), logger: logger)
                defer { conn.close() }
                let r = try await LocationDirectoryRepository.load(yaml: yaml, now: WallClock().now(), on: conn)
                let org = try LocationDirectory(yaml: yaml).organizationID
                print(
                    r.created
                        ? "loaded \(file) for \(org) as version \(r.version)"
                        : "unchanged: \(org) already has this file as version \(r.version)")
                if !r.unlisted.isEmpty {
                    print("not in the file, left as they are: \(r.unlisted.joined(separator: ", "))")
                }
            }
        }
    }

    struct Example: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an example locations file (a starting point).")
        func run() async throws { print(LocationDirectory.exampleYAML, terminator: "") }
    }
}

func readTextFile(_ path: String, what: String) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(what) \(path)") }
    return text
}
