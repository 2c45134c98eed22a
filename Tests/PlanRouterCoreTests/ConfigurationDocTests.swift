import Foundation
import PlanRouterCore
import Testing

/// docs/configuration.md names every PLANROUTER_* variable the code and scripts read,
/// and nothing the code no longer reads.
@Suite struct ConfigurationDocTests {
    /// Matches of the pattern that are not settings: C header include guards.
    static let notSettings: Set<String> = ["PLANROUTER_CLIBPQ_SHIM_H", "PLANROUTER_CRDKAFKA_SHIM_H"]
    /// Documented, but read only by the test targets (which this test does not scan).
    static let testOnly: Set<String> = ["PLANROUTER_TEST_LOG_LEVEL"]

    static func names(in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "PLANROUTER_[A-Z_]+")
        let ns = text as NSString
        var out = Set<String>()
        for m in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            var name = ns.substring(with: m.range)
            while name.hasSuffix("_") { name.removeLast() }
            out.insert(name)
        }
        return out
    }

    /// Every regular file under `folder` whose name passes `include`.
    static func files(under folder: String, include: (URL) -> Bool) -> [URL] {
        let base = Docs.root.appendingPathComponent(folder)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [URL] = []
        for case let url as URL in e where include(url) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { out.append(url) }
        }
        return out
    }

    static func namesInCode() -> [String: [String]] {
        let sources = files(under: "Sources") { $0.pathExtension == "swift" }
        let scripts = files(under: "scripts") { _ in true }
        var found: [String: [String]] = [:]
        let rootPath = Docs.root.path + "/"
        for url in sources + scripts {
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for n in names(in: text) where !notSettings.contains(n) {
                found[n, default: []].append(url.path.replacingOccurrences(of: rootPath, with: ""))
            }
        }
        return found
    }

    @Test func everyVariableInTheCodeIsDocumented() throws {
        let code = Self.namesInCode()
        #expect(code.count >= 10, "the scan found only \(code.count) names; is the repository root right?")
        let documented = Self.names(in: try Docs.text("docs/configuration.md"))
        let missing = code.keys.filter { !documented.contains($0) }.sorted()
        #expect(
            missing.isEmpty,
            "docs/configuration.md does not document: \(missing.map { "\($0) (read in \(code[$0]!.sorted().joined(separator: ", ")))" }.joined(separator: "; "))"
        )
    }

    @Test func everyDocumentedVariableIsStillInTheCode() throws {
        let code = Set(Self.namesInCode().keys)
        let documented = Self.names(in: try Docs.text("docs/configuration.md"))
        let stale = documented.subtracting(code).subtracting(Self.testOnly).sorted()
        #expect(stale.isEmpty, "docs/configuration.md documents names no source file or script uses: \(stale.joined(separator: ", "))")
    }

    /// Every ```yaml block of docs/configuration.md is a complete, valid rules file, or (those that
    /// start `format: 1`) a valid locations file.
    @Test func yamlExamplesAreValidRules() throws {
        let blocks = try Docs.codeBlocks(in: try Docs.text("docs/configuration.md"), language: "yaml")
        #expect(blocks.count >= 2)
        for b in blocks {
            if b.text.hasPrefix("format: 1\n") {
                #expect(throws: Never.self, "docs/configuration.md: the locations example at line \(b.line)") {
                    try LocationDirectory(yaml: b.text)
                }
                continue
            }
            do {
                let rules = try RoutingRules(yaml: b.text)
                #expect(!rules.locationOverrides.isEmpty, "the example at line \(b.line) should show a per-location override")
            } catch {
                Issue.record("docs/configuration.md: the ```yaml example at line \(b.line) is not valid rules: \(error)")
            }
        }
    }
}
