/// A JSON Schema `pattern`: the subset of ECMA-262 regular expressions the contract's schemas
/// use, matched without Foundation.
///
/// Why not `NSRegularExpression`: it runs for every identifier of every event on the workers'
/// hot path, and on Linux it is ICU's regex engine behind Foundation's bridging, with a UTF-16
/// copy of each string; and it backtracks: a pattern such as `^[^@\s]+@[^@\s]+\.[^@\s]+$` takes
/// time quadratic in the length of a hostile string. (Measured, the change is neither faster nor
/// smaller in the pipeline: docs/benchmarks.md, "Schema patterns without ICU".)
///
/// This matcher compiles the pattern to a small nondeterministic automaton and runs all its
/// states over the input at once (Thompson's construction), so a match costs at most the
/// pattern's size times the string's length, whatever the input.
///
/// Supported: literals and escaped punctuation; `.`; character classes with ranges and negation;
/// `\d \D \s \S \w \W`, `\t \n \r \f \v`, `\uXXXX`; groups `( )` and `(?: )`; alternation `|`;
/// the quantifiers `* + ? {n} {n,} {n,m}` (a lazy `?` after one is accepted: it cannot change
/// whether a string matches); the anchors `^` and `$` (start and end of the string, as ECMA-262
/// without the multiline flag). Anything else (lookaround, backreferences, `\b`, named groups,
/// Unicode property escapes) is refused when the schema loads, as the validator refuses keywords
/// it does not implement: a constraint of the contract is never silently ignored.
///
/// The string is matched as Unicode scalars (as ECMA-262 with the `u` flag); without that flag
/// ECMA-262 counts UTF-16 units, which differs only for characters outside the Basic
/// Multilingual Plane.
public struct SchemaPattern: Sendable {
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The pattern as written.
    public let source: String
    /// The automaton's state sets as bitsets, precomputed (see `Tables`).
    private let tables: Tables

    /// The largest count a `{n,m}` may name: each repetition is a copy of the repeated part.
    static let maxRepetition = 1_000

    public init(_ source: String) throws {
        self.source = source
        var parser = Parser(Array(source.unicodeScalars))
        let tree = try parser.parse()
        var compiler = Compiler()
        compiler.emit(tree)
        compiler.program.append(.match)
        tables = Tables(compiler.program)
    }

    /// Whether the pattern matches anywhere in `string` (a JSON Schema pattern is not anchored
    /// unless it says `^` or `$`).
    ///
    /// Runs every state of the automaton at once as a bitset, with each state's successors
    /// precomputed, so a match allocates nothing on the heap and reads the string once.
    public func matches(_ string: String) -> Bool {
        let t = tables
        // The empty string is the one input where ^ and $ both hold at the same position.
        if string.isEmpty { return t.matchesEmpty }
        let words = t.words
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * words) { buffer in
            var current = UnsafeMutableBufferPointer(rebasing: buffer[0..<words])
            var next = UnsafeMutableBufferPointer(rebasing: buffer[words..<2 * words])
            // Position 0: the start state, with ^ holding.
            for w in 0..<words { current[w] = t.atStart[w] }
            for c in string.unicodeScalars {
                if t.intersects(current, t.matchState) { return true }
                for w in 0..<words { next[w] = 0 }
                // A match may also start at every later position: the start state, ^ not holding.
                t.union(into: next, t.closure, of: 0)
                var live = false
                for w in 0..<words {
                    var bits = current[w] & t.scalarStates[w]
                    while bits != 0 {
                        let pc = w * 64 + bits.trailingZeroBitCount
                        bits &= bits - 1
                        if t.accepts(pc, c) {
                            t.union(into: next, t.closure, of: pc + 1)
                            live = true
                        }
                    }
                }
                swap(&current, &next)
                // Nothing alive but the restart, and the pattern is anchored at ^: no match.
                if !live && t.anchored { return false }
            }
            // The end of the string: $ holds.
            return t.intersects(current, t.acceptAtEnd)
        }
    }

    /// The automaton's transitions as bitsets over its instructions. Every closure follows jumps
    /// and splits; `^` and `$` are followed only where they hold.
    struct Tables: Sendable {
        let words: Int
        /// Per instruction: the states reachable from it without reading, neither anchor holding.
        let closure: [UInt64]
        /// The states at position 0 (^ holds).
        let atStart: [UInt64]
        /// The instructions that read a scalar.
        let scalarStates: [UInt64]
        let matchState: [UInt64]
        /// States from which the match is reachable once $ holds.
        let acceptAtEnd: [UInt64]
        /// Per instruction that reads: the ASCII scalars it accepts (two words).
        let ascii: [(UInt64, UInt64)]
        let tests: [ScalarTest?]
        /// Every match must begin at position 0 (the pattern starts with ^ in every branch).
        let anchored: Bool
        /// Whether the empty string matches (^ and $ both hold at its one position).
        let matchesEmpty: Bool

        init(_ program: [Instruction]) {
            let n = program.count
            words = (n + 63) / 64
            func closureOf(_ pc: Int, start: Bool, end: Bool) -> [Int] {
                var seen = Set<Int>()
                var stack = [pc]
                while let pc = stack.popLast() {
                    guard pc < n, seen.insert(pc).inserted else { continue }
                    switch program[pc] {
                    case .jump(let to): stack.append(to)
                    case .split(let a, let b): stack += [a, b]
                    case .start: if start { stack.append(pc + 1) }
                    case .end: if end { stack.append(pc + 1) }
                    case .scalar, .match: break
                    }
                }
                return Array(seen)
            }
            let w = words
            func bits(_ pcs: [Int]) -> [UInt64] {
                var out = [UInt64](repeating: 0, count: w)
                for pc in pcs { out[pc / 64] |= 1 << UInt64(pc % 64) }
                return out
            }
            var closure: [UInt64] = []
            closure.reserveCapacity((n + 1) * w)
            for pc in 0...n { closure += bits(pc < n ? closureOf(pc, start: false, end: false) : []) }
            self.closure = closure
            atStart = bits(closureOf(0, start: true, end: false))
            scalarStates = bits(program.indices.filter { if case .scalar = program[$0] { true } else { false } })
            let matchPC = program.indices.filter { if case .match = program[$0] { true } else { false } }
            matchState = bits(matchPC)
            acceptAtEnd = bits(program.indices.filter { !Set(closureOf($0, start: false, end: true)).isDisjoint(with: matchPC) })
            matchesEmpty = !Set(closureOf(0, start: true, end: true)).isDisjoint(with: matchPC)
            tests = program.map { if case .scalar(let t) = $0 { t } else { nil } }
            ascii = tests.map { t in
                guard let t else { return (0, 0) }
                var lo: UInt64 = 0
                var hi: UInt64 = 0
                for v in 0..<128 where t.matches(Unicode.Scalar(UInt8(v))) {
                    if v < 64 { lo |= 1 << UInt64(v) } else { hi |= 1 << UInt64(v - 64) }
                }
                return (lo, hi)
            }
            // A match starting after position 0 would need the restart's states to read a scalar,
            // be the match, or reach it at the end of the string.
            let restart = closure[0..<w]
            anchored = zip(restart, zip(scalarStates, zip(matchState, acceptAtEnd))).allSatisfy { r, m in
                r & (m.0 | m.1.0 | m.1.1) == 0
            }
        }

        @inline(__always) func accepts(_ pc: Int, _ c: Unicode.Scalar) -> Bool {
            let v = c.value
            if v < 64 { return ascii[pc].0 & (1 << UInt64(v)) != 0 }
            if v < 128 { return ascii[pc].1 & (1 << UInt64(v - 64)) != 0 }
            return tests[pc]!.matches(c)
        }

        @inline(__always) func union(into set: UnsafeMutableBufferPointer<UInt64>, _ table: [UInt64], of pc: Int) {
            for w in 0..<words { set[w] |= table[pc * words + w] }
        }

        @inline(__always) func intersects(_ set: UnsafeMutableBufferPointer<UInt64>, _ mask: [UInt64]) -> Bool {
            for w in 0..<words where set[w] & mask[w] != 0 { return true }
            return false
        }
    }

    // MARK: The automaton

    enum Instruction: Sendable {
        case scalar(ScalarTest)
        case split(Int, Int)
        case jump(Int)
        case start
        case end
        case match
    }

    /// What one position of the pattern accepts.
    struct ScalarTest: Sendable {
        enum Item: Sendable {
            case range(UInt32, UInt32)
            case digit(negated: Bool)
            case space(negated: Bool)
            case word(negated: Bool)
            case notLineTerminator
        }

        var items: [Item]
        var negated = false

        func matches(_ c: Unicode.Scalar) -> Bool {
            let v = c.value
            var hit = false
            for item in items {
                switch item {
                case .range(let lo, let hi): hit = lo <= v && v <= hi
                case .digit(let n): hit = (0x30...0x39).contains(v) != n
                case .space(let n): hit = ScalarTest.isSpace(v) != n
                case .word(let n): hit = ScalarTest.isWord(v) != n
                case .notLineTerminator: hit = !(v == 0x0A || v == 0x0D || v == 0x2028 || v == 0x2029)
                }
                if hit { break }
            }
            return hit != negated
        }

        /// ECMA-262's WhiteSpace and LineTerminator.
        static func isSpace(_ v: UInt32) -> Bool {
            switch v {
            case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: return true
            default: return false
            }
        }

        static func isWord(_ v: UInt32) -> Bool {
            (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
        }
    }

    // MARK: Parsing

    indirect enum Node {
        case test(ScalarTest)
        case start
        case end
        case sequence([Node])
        case alternation([Node])
        case repeated(Node, min: Int, max: Int?)
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0

        init(_ s: [Unicode.Scalar]) { self.s = s }

        func fail(_ what: String) -> SyntaxError {
            SyntaxError(
                description:
                    "\(what) at offset \(i) (the validator implements literals, classes, groups, | and the quantifiers * + ? {n,m})"
            )
        }

        mutating func parse() throws -> Node {
            let node = try alternation()
            if i < s.count { throw fail(s[i] == ")" ? "unbalanced )" : "unexpected \(s[i])") }
            return node
        }

        mutating func alternation() throws -> Node {
            var branches = [try sequence()]
            while i < s.count, s[i] == "|" {
                i += 1
                branches.append(try sequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func sequence() throws -> Node {
            var items: [Node] = []
            while i < s.count, s[i] != "|", s[i] != ")" {
                var atom = try self.atom()
                // One quantifier an atom: a second ("a**") is "nothing to repeat" in ECMA-262 too.
                if let q = try quantifier() {
                    if case .start = atom { throw fail("a quantifier after ^") }
                    if case .end = atom { throw fail("a quantifier after $") }
                    atom = .repeated(atom, min: q.min, max: q.max)
                }
                items.append(atom)
            }
            return .sequence(items)
        }

        mutating func atom() throws -> Node {
            let c = s[i]
            i += 1
            switch c {
            case "^": return .start
            case "$": return .end
            case ".": return .test(ScalarTest(items: [.notLineTerminator]))
            case "[": return .test(try characterClass())
            case "(":
                if i < s.count, s[i] == "?" {
                    guard i + 1 < s.count, s[i + 1] == ":" else { throw fail("a lookaround or named group") }
                    i += 2
                }
                let inner = try alternation()
                guard i < s.count, s[i] == ")" else { throw fail("an unclosed (") }
                i += 1
                return inner
            case "*", "+", "?", "{": throw fail("a quantifier with nothing to repeat")
            case "]", "}": throw fail("an unescaped \(c)")
            case "\\": return .test(try escape(inClass: false))
            default: return .test(ScalarTest(items: [.range(c.value, c.value)]))
            }
        }

        mutating func quantifier() throws -> (min: Int, max: Int?)? {
            guard i < s.count else { return nil }
            let q: (min: Int, max: Int?)
            switch s[i] {
            case "*":
                i += 1
                q = (0, nil)
            case "+":
                i += 1
                q = (1, nil)
            case "?":
                i += 1
                q = (0, 1)
            case "{":
                i += 1
                let lo = try number()
                var hi: Int? = lo
                if i < s.count, s[i] == "," {
                    i += 1
                    hi = i < s.count && s[i] == "}" ? nil : try number()
                }
                guard i < s.count, s[i] == "}" else { throw fail("a malformed {n,m}") }
                i += 1
                if let h = hi, h < lo { throw fail("{n,m} with m < n") }
                if lo > SchemaPattern.maxRepetition || (hi ?? 0) > SchemaPattern.maxRepetition {
                    throw fail("a count over \(SchemaPattern.maxRepetition)")
                }
                q = (lo, hi)
            default: return nil
            }
            if i < s.count, s[i] == "?" { i += 1 }  // lazy: the same strings match
            return q
        }

        mutating func number() throws -> Int {
            var n = 0
            var digits = 0
            while i < s.count, ("0"..."9").contains(s[i]) {
                n = min(n * 10 + Int(s[i].value - 0x30), 1_000_000)
                digits += 1
                i += 1
            }
            if digits == 0 { throw fail("a malformed {n,m}") }
            return n
        }

        mutating func characterClass() throws -> ScalarTest {
            var test = ScalarTest(items: [])
            if i < s.count, s[i] == "^" {
                test.negated = true
                i += 1
            }
            var first = true
            while true {
                guard i < s.count else { throw fail("an unclosed [") }
                if s[i] == "]", !first { break }
                if s[i] == "]" { throw fail("an empty class") }
                first = false
                let lo = try classAtom()
                // A range a-b, unless the '-' is last in the class.
                if i + 1 < s.count, s[i] == "-", s[i + 1] != "]" {
                    i += 1
                    let hi = try classAtom()
                    guard case .range(let a, let a2) = lo, a == a2, case .range(let b, let b2) = hi, b == b2 else {
                        throw fail("a range with a class escape")
                    }
                    guard a <= b else { throw fail("a range out of order") }
                    test.items.append(.range(a, b))
                } else {
                    test.items.append(lo)
                }
            }
            i += 1
            return test
        }

        mutating func classAtom() throws -> ScalarTest.Item {
            let c = s[i]
            i += 1
            if c == "\\" {
                let t = try escape(inClass: true)
                return t.items[0]
            }
            if c == "[" { throw fail("a nested [") }
            return .range(c.value, c.value)
        }

        mutating func escape(inClass: Bool) throws -> ScalarTest {
            guard i < s.count else { throw fail("a trailing \\") }
            let c = s[i]
            i += 1
            func literal(_ v: UInt32) -> ScalarTest { ScalarTest(items: [.range(v, v)]) }
            switch c {
            case "d": return ScalarTest(items: [.digit(negated: false)])
            case "D": return ScalarTest(items: [.digit(negated: true)])
            case "s": return ScalarTest(items: [.space(negated: false)])
            case "S": return ScalarTest(items: [.space(negated: true)])
            case "w": return ScalarTest(items: [.word(negated: false)])
            case "W": return ScalarTest(items: [.word(negated: true)])
            case "t": return literal(0x09)
            case "n": return literal(0x0A)
            case "v": return literal(0x0B)
            case "f": return literal(0x0C)
            case "r": return literal(0x0D)
            case "u":
                guard i + 4 <= s.count, let v = UInt32(String(String.UnicodeScalarView(s[i..<i + 4])), radix: 16) else {
                    throw fail("a malformed \\u escape")
                }
                i += 4
                return literal(v)
            case "-" where inClass: return literal(c.value)
            default:
                // Escaped punctuation is the character itself (ECMA-262's SyntaxCharacter and '/');
                // a letter or digit escape not listed above (\b, \1, \p{…}) is refused.
                guard "^$\\.*+?()[]{}|/".unicodeScalars.contains(c) else { throw fail("the escape \\\(c)") }
                return literal(c.value)
            }
        }
    }

    // MARK: Compiling

    struct Compiler {
        var program: [Instruction] = []

        mutating func emit(_ node: Node) {
            switch node {
            case .test(let t): program.append(.scalar(t))
            case .start: program.append(.start)
            case .end: program.append(.end)
            case .sequence(let items): for item in items { emit(item) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jump end; next: split L2, …
                var jumps: [Int] = []
                for (n, branch) in branches.enumerated() {
                    if n < branches.count - 1 {
                        let split = program.count
                        program.append(.split(split + 1, -1))
                        emit(branch)
                        jumps.append(program.count)
                        program.append(.jump(-1))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        emit(branch)
                    }
                }
                for j in jumps { program[j] = .jump(program.count) }
            case .repeated(let inner, let min, let max):
                for _ in 0..<min { emit(inner) }
                if let max {
                    // Each optional copy: split into it or past every remaining copy.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        program.append(.split(program.count + 1, -1))
                        emit(inner)
                    }
                    for sp in splits { program[sp] = .split(sp + 1, program.count) }
                } else {
                    // loop: split body, out; body; jump loop
                    let loop = program.count
                    program.append(.split(loop + 1, -1))
                    emit(inner)
                    program.append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}
