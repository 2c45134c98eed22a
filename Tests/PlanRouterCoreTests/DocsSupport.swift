import Foundation

/// Reading the repository's documentation from tests.
enum Docs {
    /// The repository root: the nearest folder above this file that holds Package.swift.
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    static func text(_ relativePath: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relativePath), encoding: .utf8)
    }

    struct CodeBlock {
        /// 1-based line of the opening fence.
        var line: Int
        var text: String
    }

    /// Every fenced block whose opening fence is exactly ```` ```<language> ```` (after trimming).
    /// Throws when a block is never closed, so a broken fence cannot hide examples.
    static func codeBlocks(in markdown: String, language: String) throws -> [CodeBlock] {
        var blocks: [CodeBlock] = []
        var open: (line: Int, lang: String, lines: [Substring])?
        for (i, raw) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if var current = open {
                if line == "```" {
                    if current.lang == language {
                        blocks.append(CodeBlock(line: current.line, text: current.lines.joined(separator: "\n")))
                    }
                    open = nil
                } else {
                    current.lines.append(raw)
                    open = current
                }
            } else if line.hasPrefix("```") {
                open = (i + 1, String(line.dropFirst(3)), [])
            }
        }
        if let open { throw UnclosedFence(line: open.line) }
        return blocks
    }

    struct UnclosedFence: Error, CustomStringConvertible {
        var line: Int
        var description: String { "code fence opened at line \(line) is never closed" }
    }
}
