import Foundation
import PlanRouterCore
import Testing

@Suite struct SchemaPatternTests {
    /// Every `pattern` string of the shipped schemas (a property that happens to be named
    /// "pattern" has an object value and is skipped).
    static let shippedPatterns: [String] = {
        var found = Set<String>()
        func walk(_ v: JSONValue) {
            switch v {
            case .object(let o):
                for (k, x) in o {
                    if k == "pattern", let s = x.stringValue { found.insert(s) }
                    walk(x)
                }
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        let dir = Docs.root.appendingPathComponent("Sources/PlanRouterCore/Schemas")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        for f in files where f.hasSuffix(".json") {
            if let text = try? String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8),
                let v = try? JSONParser.parse(text)
            {
                walk(v)
            }
        }
        return found.sorted()
    }()

    /// ICU's regex engine (NSRegularExpression) as the reference: the engine the validator used
    /// before, with ECMA-262's `$` spelled `\z` (ICU's `$` also matches before a final newline).
    static func reference(_ pattern: String, _ s: String) throws -> Bool {
        var icu = pattern
        if icu.hasSuffix("$") { icu = String(icu.dropLast()) + "\\z" }
        let re = try NSRegularExpression(pattern: icu)
        return re.firstMatch(in: s, range: NSRange(location: 0, length: (s as NSString).length)) != nil
    }

    /// Strings near every shipped pattern's language: examples that match, each mutated by one
    /// insertion, deletion or replacement, and random strings over the patterns' alphabet.
    static func samples() -> [String] {
        let matching = [
            "D2740", "D0120", "pat-1", "loc-9", "org_a:b@c/d.e", "planrouter.plan.accepted.v1", "planrouter.x-y.v12",
            "+15555550100", "+4915112345678", "sam@example.com", "a@b.co", "USD", "XX/X", "X", "surgical", "add_on",
            "IMPLANT-1", "A1", "D9999", "opendental/loc-1",
        ]
        let alphabet = Array("AZaz09DX/._-:@+ \t\nézé😀$^|()[]{}v".unicodeScalars)
        var out = matching + ["", "\n", "D2740\n", " D2740", "a@b.c\n", "X\nX"]
        for m in matching {
            let u = Array(m.unicodeScalars)
            for i in 0...u.count {
                for c in alphabet.prefix(24) {
                    var ins = u
                    ins.insert(c, at: i)
                    out.append(String(String.UnicodeScalarView(ins)))
                    if i < u.count {
                        var rep = u
                        rep[i] = c
                        out.append(String(String.UnicodeScalarView(rep)))
                    }
                }
                if i < u.count {
                    var del = u
                    del.remove(at: i)
                    out.append(String(String.UnicodeScalarView(del)))
                }
            }
        }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let n = Int(seed >> 59)  // 0–31
            var s = String.UnicodeScalarView()
            for _ in 0..<n {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                s.append(alphabet[Int(seed >> 33) % alphabet.count])
            }
            out.append(String(s))
        }
        // {1,144} and {6,14}: both sides of each bound.
        for n in [5, 6, 14, 15, 143, 144, 145] { out.append("+1" + String(repeating: "5", count: n - 1)) }
        for n in [0, 1, 144, 145] { out.append(String(repeating: "X", count: n)) }
        return out
    }

    @Test func everyShippedPatternAgreesWithICUOnNearbyStrings() throws {
        let patterns = Self.shippedPatterns
        #expect(patterns.count >= 8, "found \(patterns.count) patterns in the schemas")
        let samples = Self.samples()
        for p in patterns {
            let ours = try SchemaPattern(p)
            var matched = 0
            for s in samples {
                let expected = try Self.reference(p, s)
                if expected { matched += 1 }
                #expect(ours.matches(s) == expected, "pattern \(p) on \(s.debugDescription)")
            }
            // The samples must exercise both answers for every pattern.
            #expect(matched > 0 && matched < samples.count, "pattern \(p) matched \(matched) of \(samples.count)")
        }
    }

    /// Unanchored and partly anchored patterns take the paths the shipped ones do not: a match
    /// that starts after position 0, ends before the end, or is empty.
    @Test func unanchoredPatternsAgreeWithICU() throws {
        let samples = Self.samples()
        for p in ["b+", "c$", "^a|$", "(ab|a)c", "x*", "^$", "a.c", "[^a]b", "D[0-9]{4}", "(^X|/)$", "é|😀"] {
            let ours = try SchemaPattern(p)
            for s in samples {
                #expect(ours.matches(s) == (try Self.reference(p, s)), "pattern \(p) on \(s.debugDescription)")
            }
        }
    }

    @Test func dollarIsTheEndOfTheStringNotBeforeAFinalNewline() throws {
        let p = try SchemaPattern("^[a-z]+$")
        #expect(p.matches("abc"))
        #expect(!p.matches("abc\n"))
        #expect(!p.matches("abc\ndef"))
    }

    @Test func anUnanchoredPatternMatchesAnywhere() throws {
        #expect(try SchemaPattern("b+").matches("abbc"))
        #expect(try !SchemaPattern("^b").matches("ab"))
        #expect(try SchemaPattern("c$").matches("abc"))
        #expect(try SchemaPattern("").matches("anything"))
    }

    @Test func groupsAlternationAndCounts() throws {
        let p = try SchemaPattern("^(D[0-9]{4}|[A-Z0-9][A-Z0-9._-]{1,31})$")
        #expect(p.matches("D2740"))
        #expect(p.matches("IMPLANT-1"))
        #expect(p.matches("D27401"))  // the second branch takes it
        #expect(!p.matches("d2740"))
        #expect(!p.matches("X"))
        #expect(!p.matches("X" + String(repeating: "Y", count: 32)))
        #expect(p.matches("X" + String(repeating: "Y", count: 31)))
        #expect(try SchemaPattern("^(?:ab)*c?$").matches("ababab"))
        #expect(try !SchemaPattern("^(?:ab)*c?$").matches("aba"))
        #expect(try SchemaPattern("^a{2,}$").matches("aaaa"))
        #expect(try !SchemaPattern("^a{2,}$").matches("a"))
        #expect(try SchemaPattern("^(a?)*$").matches("aa"))  // an empty loop body ends
        #expect(try SchemaPattern("^a+?$").matches("aaa"))  // lazy: the same strings match
    }

    @Test func escapesAndClasses() throws {
        #expect(try SchemaPattern("^\\+[1-9]\\d{2}$").matches("+155"))
        #expect(try !SchemaPattern("^\\+[1-9]\\d{2}$").matches("+055"))
        #expect(try SchemaPattern("^[^@\\s]+$").matches("a.b"))
        #expect(try !SchemaPattern("^[^@\\s]+$").matches("a b"))
        #expect(try !SchemaPattern("^[^@\\s]+$").matches("a\u{00A0}b"))  // ECMA-262 white space
        #expect(try SchemaPattern("^\\w\\W\\D\\S$").matches("a-x!"))
        #expect(try SchemaPattern("^[a-]$").matches("-"))
        #expect(try SchemaPattern("^\\u00e9.$").matches("é😀"))
        #expect(try !SchemaPattern("^.$").matches("\n"))
        #expect(try SchemaPattern("^\\[\\]\\{\\}\\(\\)\\|\\/$").matches("[]{}()|/"))
    }

    /// A backtracking engine takes time quadratic (or worse) in the length of such a string; the
    /// automaton reads it once. (This test would not finish in CI if that regressed.)
    @Test func aHostileStringIsReadOnce() throws {
        let p = try SchemaPattern("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")
        #expect(!p.matches("a@" + String(repeating: "b", count: 200_000)))
        #expect(p.matches("a@" + String(repeating: "b", count: 200_000) + ".c"))
        let nested = try SchemaPattern("^(a|a)*(a*)*b$")
        #expect(!nested.matches(String(repeating: "a", count: 50_000)))
    }

    @Test func syntaxTheValidatorDoesNotImplementIsRefused() {
        for bad in [
            "(?=a)", "(?!a)", "(?<n>a)", "\\1", "\\b", "\\p{L}", "a**", "*a", "[b-a]", "(a", "a)", "[a", "x{2,1}", "x{1001}",
            "x{", "[\\d-z]", "^*", "\\",
        ] {
            #expect(throws: SchemaPattern.SyntaxError.self, "\(bad)") { try SchemaPattern(bad) }
        }
    }

    @Test func aSchemaWithAnUnsupportedPatternDoesNotLoad() throws {
        let schema = try JSONParser.parse(#"{"type": "string", "pattern": "^(?=x)"}"#)
        #expect {
            try JSONSchema(schema)
        } throws: { error in
            "\(error)".contains("/pattern: a lookaround or named group at offset 2")
        }
    }
}
