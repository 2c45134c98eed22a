import Foundation
import PlanRouterCore
import Testing
import Yams

/// deploy/ cannot be run here (no container engine), so it is checked statically:
/// every YAML file parses, every `planrouter` command line names subcommands and
/// options the built binary has, every PLANROUTER_* variable is documented.
@Suite struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let workerKinds = ["classifier", "offer", "escalation", "notify", "relay"]

    static func files(_ include: (URL) -> Bool) -> [URL] {
        let base = root.appendingPathComponent("deploy")
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [URL] = []
        for case let url as URL in e where include(url) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { out.append(url) }
        }
        return out.sorted { $0.path < $1.path }
    }

    static var yamlFiles: [URL] { files { ["yaml", "yml"].contains($0.pathExtension) } }

    /// Every document of a YAML file; a parse error anywhere throws (`load_all`'s sequence would swallow it).
    static func documents(_ url: URL) throws -> [Any] {
        let parser = try Parser(yaml: String(contentsOf: url, encoding: .utf8))
        var out: [Any] = []
        while let node = try parser.nextRoot() { out.append(node.any) }
        return out
    }

    static func relative(_ url: URL) -> String { url.path.replacingOccurrences(of: root.path + "/", with: "") }

    @Test func everyYAMLFileParses() throws {
        let yaml = Self.yamlFiles
        #expect(yaml.count >= 10, "found only \(yaml.map(Self.relative))")
        for url in yaml {
            do {
                let docs = try Self.documents(url)
                #expect(!docs.isEmpty, "\(Self.relative(url)) holds no document")
                for d in docs { #expect(d is [String: Any], "\(Self.relative(url)): a document is not a mapping") }
            } catch {
                Issue.record("\(Self.relative(url)) does not parse: \(error)")
            }
        }
    }

    /// The rules in the ConfigMap are valid rules.
    @Test func rulesConfigMapHoldsValidRules() throws {
        let doc = try #require(
            try Self.documents(Self.root.appendingPathComponent("deploy/kubernetes/configmap-rules.yaml")).first as? [String: Any])
        let yaml = try #require((doc["data"] as? [String: Any])?["rules.yaml"] as? String)
        _ = try RoutingRules(yaml: yaml)
    }

    /// Only the public surface leaves the cluster or host: the Ingress routes to the public Service's
    /// `http` port only, the staff Service is ClusterIP, compose publishes the staff port on loopback.
    @Test func onlyThePublicSurfaceIsExposed() throws {
        var services: [String: [String: Any]] = [:]
        var backends: [String] = []
        func collectBackends(_ node: Any) {
            if let map = node as? [String: Any] {
                if let service = map["service"] as? [String: Any], let name = service["name"] as? String {
                    let port = (service["port"] as? [String: Any])?["name"] as? String ?? "?"
                    backends.append("\(name):\(port)")
                }
                for v in map.values { collectBackends(v) }
            } else if let list = node as? [Any] {
                for v in list { collectBackends(v) }
            }
        }
        for url in Self.files({ $0.path.contains("/kubernetes/") && $0.pathExtension == "yaml" }) {
            for case let doc as [String: Any] in try Self.documents(url) {
                let name = (doc["metadata"] as? [String: Any])?["name"] as? String ?? "?"
                switch doc["kind"] as? String {
                case "Service": services[name] = doc["spec"] as? [String: Any]
                case "Ingress": collectBackends(doc["spec"] ?? [:])
                default: break
                }
            }
        }
        #expect(backends == ["planrouter-serve:http"])
        for (name, spec) in services {
            #expect((spec["type"] as? String ?? "ClusterIP") == "ClusterIP", "\(name) is reachable from outside the cluster")
        }
        let targets = (services["planrouter-staff"]?["ports"] as? [[String: Any]] ?? []).compactMap { $0["targetPort"] as? String }
        #expect(targets == ["staff"])
        let publicTargets = (services["planrouter-serve"]?["ports"] as? [[String: Any]] ?? []).compactMap { $0["targetPort"] as? String }
        #expect(publicTargets == ["http"])

        let compose = try #require(
            try Self.documents(Self.root.appendingPathComponent("deploy/docker-compose.yml")).first as? [String: Any])
        let serve = try #require((compose["services"] as? [String: Any])?["serve"] as? [String: Any])
        let ports = serve["ports"] as? [String] ?? []
        #expect(ports.contains("8080:8080"))
        #expect(ports.filter { $0.hasSuffix(":8081") } == ["127.0.0.1:8081:8081"])

        let env = try String(contentsOf: Self.root.appendingPathComponent("deploy/systemd/planrouter.env.example"), encoding: .utf8)
        #expect(env.contains("\nPLANROUTER_STAFF_HOST=127.0.0.1\n"))
    }

    /// Every Deployment has the probes, resources and secret references the operations guide promises.
    @Test func deploymentsHaveProbesAndLimits() throws {
        var kinds: Set<String> = []
        for url in Self.files({ $0.path.contains("/kubernetes/") && $0.pathExtension == "yaml" }) {
            for case let doc as [String: Any] in try Self.documents(url) where doc["kind"] as? String == "Deployment" {
                let name = (doc["metadata"] as? [String: Any])?["name"] as? String ?? "?"
                kinds.insert(name)
                let spec = ((doc["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
                let containers = spec?["containers"] as? [[String: Any]] ?? []
                #expect(containers.count == 1, "\(name)")
                for c in containers {
                    let liveness = (c["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
                    let readiness = (c["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any]
                    #expect(liveness?["path"] as? String == "/healthz", "\(name) liveness")
                    let readyPath = readiness?["path"] as? String
                    #expect(readyPath == (name == "planrouter-serve" ? "/healthz" : "/readyz"), "\(name) readiness")
                    let resources = c["resources"] as? [String: Any]
                    #expect((resources?["limits"] as? [String: Any])?["memory"] as? String == "128Mi", "\(name) memory limit")
                    #expect((resources?["requests"] as? [String: Any])?["memory"] as? String == "64Mi", "\(name) memory request")
                    let env = c["env"] as? [[String: Any]] ?? []
                    let database = env.first { $0["name"] as? String == "PLANROUTER_DATABASE_URL" }
                    #expect(
                        ((database?["valueFrom"] as? [String: Any])?["secretKeyRef"]) != nil,
                        "\(name): the database URL comes from a Secret")
                }
            }
        }
        #expect(kinds == Set((Self.workerKinds + ["serve", "connector-opendental"]).map { "planrouter-\($0)" }))
    }

    // MARK: Command lines

    struct CommandLine: CustomStringConvertible {
        var file: String
        var arguments: [String]
        var description: String { "\(file): planrouter \(arguments.joined(separator: " "))" }
    }

    /// Every command line in deploy/ that runs planrouter (arguments after the binary).
    static func commandLines() throws -> [CommandLine] {
        var out: [CommandLine] = []
        // Dockerfile: the entrypoint is the binary, CMD its arguments.
        let dockerfile = try String(contentsOf: root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        for line in dockerfile.split(separator: "\n") where line.hasPrefix("CMD ") {
            let json = try JSONSerialization.jsonObject(with: Data(line.dropFirst(4).utf8)) as? [String]
            out.append(CommandLine(file: "deploy/Dockerfile", arguments: json ?? []))
        }
        // Compose: `command:` of the services that run the planrouter image.
        let compose = try #require(try documents(root.appendingPathComponent("deploy/docker-compose.yml")).first as? [String: Any])
        for (_, value) in compose["services"] as? [String: Any] ?? [:] {
            guard let service = value as? [String: Any], (service["image"] as? String)?.hasPrefix("planrouter") == true,
                let command = service["command"] as? [String]
            else { continue }
            out.append(CommandLine(file: "deploy/docker-compose.yml", arguments: command))
        }
        // Kubernetes: `args:` of every container running the planrouter image.
        func walk(_ node: Any, _ file: String) {
            if let map = node as? [String: Any] {
                if (map["image"] as? String)?.contains("planrouter") == true, map["command"] == nil, let args = map["args"] as? [String] {
                    out.append(CommandLine(file: file, arguments: args))
                }
                for v in map.values { walk(v, file) }
            } else if let list = node as? [Any] {
                for v in list { walk(v, file) }
            }
        }
        for url in files({ $0.path.contains("/kubernetes/") && $0.pathExtension == "yaml" }) {
            for d in try documents(url) { walk(d, relative(url)) }
        }
        // systemd: ExecStart, with the template instance replaced by each worker kind.
        for url in files({ $0.pathExtension == "service" }) {
            let text = try String(contentsOf: url, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("ExecStart=") {
                let words = line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
                #expect(words.first?.hasSuffix("/planrouter") == true, "\(relative(url)): \(line)")
                let args = Array(words.dropFirst())
                let instances = args.contains { $0.contains("%i") } ? workerKinds : [""]
                for i in instances {
                    out.append(CommandLine(file: relative(url), arguments: args.map { $0.replacingOccurrences(of: "%i", with: i) }))
                }
            }
        }
        return out
    }

    /// Subcommand names listed in a help text's SUBCOMMANDS section.
    static func subcommands(inHelp help: String) -> Set<String> {
        var out: Set<String> = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") {
                inSection = true
                continue
            }
            if inSection {
                if !line.hasPrefix(" ") && !line.isEmpty { break }
                if line.hasPrefix("  ") && !line.hasPrefix("   "), let word = line.split(separator: " ").first { out.insert(String(word)) }
            }
        }
        return out
    }

    /// Whether `option` (e.g. `--metrics-port`) appears in the help text as a whole option name.
    static func help(_ help: String, names option: String) -> Bool {
        var search = help[...]
        while let r = search.range(of: option) {
            let next = r.upperBound < search.endIndex ? search[r.upperBound] : " "
            if !(next.isLetter || next.isNumber || next == "-") { return true }
            search = search[r.upperBound...]
        }
        return false
    }

    @Test func everyCommandLineNamesRealSubcommandsAndOptions() async throws {
        let lines = try Self.commandLines()
        // Dockerfile CMD, 6 compose services, 7 Kubernetes containers, 4 + 1 systemd instances.
        #expect(lines.count >= 18, "found only: \(lines)")
        var helpCache: [[String]: String] = [:]
        func helpText(_ path: [String]) async throws -> String {
            if let h = helpCache[path] { return h }
            let r = try await CLI.run(path + ["--help"])
            #expect(r.status == 0, "planrouter \(path.joined(separator: " ")) --help failed: \(r.stderr)")
            helpCache[path] = r.stdout
            return r.stdout
        }
        for line in lines {
            var path: [String] = []
            var rest = line.arguments[...]
            // Descend through subcommands while the next word names one.
            while let word = rest.first, !word.hasPrefix("-") {
                let subs = Self.subcommands(inHelp: try await helpText(path))
                if subs.contains(word) {
                    path.append(word)
                    rest = rest.dropFirst()
                } else {
                    // A command group takes no positional argument: the word must have been a subcommand.
                    #expect(subs.isEmpty, "\(line): \(word) is not a subcommand of planrouter \(path.joined(separator: " "))")
                    break
                }
            }
            #expect(Self.subcommands(inHelp: try await helpText(path)).isEmpty || path.isEmpty, "\(line): stops at a command group")
            let help = try await helpText(path)
            for word in rest where word.hasPrefix("--") {
                let option = String(word.split(separator: "=", maxSplits: 1)[0])
                #expect(Self.help(help, names: option), "\(line): planrouter \(path.joined(separator: " ")) has no option \(option)")
            }
        }
    }

    @Test func everyVariableInDeployIsDocumented() throws {
        let regex = try NSRegularExpression(pattern: "PLANROUTER_[A-Z_]+")
        func names(_ text: String) -> Set<String> {
            let ns = text as NSString
            return Set(
                regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
                    var n = ns.substring(with: $0.range)
                    while n.hasSuffix("_") { n.removeLast() }
                    return n
                })
        }
        let documented = names(try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8))
        var seen = 0
        for url in Self.files({ _ in true }) {
            let used = names((try? String(contentsOf: url, encoding: .utf8)) ?? "")
            seen += used.count
            let missing = used.subtracting(documented).sorted()
            #expect(missing.isEmpty, "\(Self.relative(url)) uses undocumented \(missing.joined(separator: ", "))")
        }
        #expect(seen > 10)
    }

    /// The image is linked like the scripts' release builds (what docs/benchmarks.md measures):
    /// every flag of `RELEASE_LINK_FLAGS` in scripts/lib/common.sh is in the Dockerfile's build,
    /// with the ordering file at its path in the image.
    @Test func dockerfileLinksLikeTheScriptsReleaseBuild() throws {
        let common = try String(contentsOf: Self.root.appendingPathComponent("scripts/lib/common.sh"), encoding: .utf8)
        let start = try #require(common.range(of: "RELEASE_LINK_FLAGS=("))
        let end = try #require(common[start.upperBound...].firstIndex(of: ")"))
        let flags = common[start.upperBound..<end].split(whereSeparator: \.isWhitespace).map {
            $0.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "$ROOT", with: "/src")
        }
        #expect(flags.contains("--symbol-ordering-file=/src/deploy/symbol-order.txt"), "\(flags)")
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let build = try #require(dockerfile.components(separatedBy: "RUN swift build -c release").dropFirst().first)
        let tokens = Set(build.components(separatedBy: "&&")[0].split(whereSeparator: { $0.isWhitespace || $0 == "\\" }).map(String.init))
        for flag in flags {
            #expect(tokens.contains(flag), "deploy/Dockerfile's release build lacks \(flag)")
        }
        #expect(dockerfile.contains("COPY deploy/symbol-order.txt ./deploy/"))
        // The file the link reads: one symbol per line, and not empty.
        let order = try String(contentsOf: Self.root.appendingPathComponent("deploy/symbol-order.txt"), encoding: .utf8)
        let symbols = order.split(separator: "\n")
        #expect(symbols.count > 1000)
        #expect(symbols.allSatisfy { !$0.contains(" ") })
    }

    /// Nothing links FoundationNetworking: it loads libcurl and its own TLS libraries into every
    /// process of the one binary, workers included (~1 MB resident each, docs/benchmarks.md), and
    /// the image installs no libcurl4. Every HTTP client is AsyncHTTPClient.
    @Test func theBinaryLoadsNoLibcurl() throws {
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [CLI.binary.path]
        let pipe = Pipe()
        ldd.standardOutput = pipe
        try ldd.run()
        let listing = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        #expect(listing.contains("libpq.so"), "\(listing)")  // a real listing
        // An incremental build made before FoundationNetworking left the sources keeps its
        // autolink entry in objects not recompiled since; a clean build drops it.
        let stale = "(after an incremental build, remove .build and build again)"
        #expect(!listing.contains("libcurl"), "\(stale) \(listing)")
        #expect(!listing.contains("FoundationNetworking"), "\(stale) \(listing)")
        // The runtime stage's packages (the last `apt-get install` line), not its comments.
        let dockerfile = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let install = try #require(dockerfile.split(separator: "\n").last { $0.contains("apt-get install") })
        #expect(install.contains("libpq5"), "\(install)")  // the line is the runtime's
        #expect(!install.split(separator: " ").contains("libcurl4"), "\(install)")
    }

    @Test func dockerfileShipsTheResourceBundles() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        #expect(text.contains("--static-swift-stdlib"))
        #expect(text.contains("planrouter_*.resources"))
        #expect(text.contains("FROM debian:bookworm-slim"))
        #expect(text.contains("USER "))
        // The bundles the binary loads exist under that pattern in a SwiftPM build.
        let binDir = CLI.binary.deletingLastPathComponent()
        let bundles = try FileManager.default.contentsOfDirectory(atPath: binDir.path).filter {
            $0.hasPrefix("planrouter_") && $0.hasSuffix(".resources")
        }
        #expect(Set(bundles).isSuperset(of: ["planrouter_PlanRouterCore.resources", "planrouter_PlanRouterStore.resources"]), "\(bundles)")
    }
}
