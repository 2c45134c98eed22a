/// A compiled JSON Schema (draft 2020-12 subset) that validates `JSONValue`s.
///
/// The schemas in `schemas/` are the published event contract, so the validator
/// refuses to load a schema that uses a keyword it does not implement: a
/// constraint the contract states must never be silently ignored.
public final class JSONSchema: Sendable {
    indirect enum Node {
        case any
        case never
        case constraints(Constraints)
        case ref(String)
    }

    struct Constraints {
        var types: Set<String>?
        var properties: [(String, Node)] = []
        var required: [String] = []
        var additionalProperties: Node?
        var items: Node?
        var minItems: Int?
        var maxItems: Int?
        var minLength: Int?
        var maxLength: Int?
        var pattern: SchemaPattern?
        var format: String?
        var enumValues: [JSONValue]?
        var constValue: JSONValue?
        var minimum: Double?
        var maximum: Double?
        var allOf: [Node] = []
        var anyOf: [Node] = []
        var oneOf: [Node] = []
        var ifThen: (condition: Node, then: Node?, else: Node?)?
    }

    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let id: String
    let root: Node
    let definitions: [String: Node]

    static let annotationKeywords: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "examples", "default", "deprecated", "readOnly", "writeOnly",
    ]

    public convenience init(json text: String) throws {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw LoadError(description: "schema is not JSON: \(error)") }
        try self.init(value)
    }

    public init(_ schema: JSONValue) throws {
        id = schema["$id"]?.stringValue ?? "(anonymous)"
        var defs: [String: Node] = [:]
        if let d = schema["$defs"]?.objectValue {
            for (k, v) in d { defs[k] = try JSONSchema.compile(v, path: "/$defs/\(k)") }
        }
        definitions = defs
        var rootValue = schema
        if case .object(var o) = rootValue {
            o["$defs"] = nil
            rootValue = .object(o)
        }
        root = try JSONSchema.compile(rootValue, path: "")
    }

    static func compile(_ v: JSONValue, path: String) throws -> Node {
        switch v {
        case .bool(true): return .any
        case .bool(false): return .never
        case .object(let o):
            if let ref = o["$ref"]?.stringValue {
                guard ref.hasPrefix("#/$defs/") else { throw LoadError(description: "\(path): only local #/$defs refs are supported") }
                return .ref(String(ref.dropFirst("#/$defs/".count)))
            }
            var c = Constraints()
            for (key, value) in o {
                func int() throws -> Int {
                    guard let i = value.intValue, i >= 0 else {
                        throw LoadError(description: "\(path)/\(key): expected a non-negative integer")
                    }
                    return i
                }
                func number() throws -> Double {
                    switch value {
                    case .int(let i): return Double(i)
                    case .double(let d): return d
                    default: throw LoadError(description: "\(path)/\(key): expected a number")
                    }
                }
                switch key {
                case "type":
                    if let s = value.stringValue {
                        c.types = [s]
                    } else if let a = value.arrayValue {
                        c.types = Set(a.compactMap(\.stringValue))
                    }
                case "properties":
                    for (name, sub) in value.objectValue ?? JSONObject() {
                        c.properties.append((name, try compile(sub, path: "\(path)/properties/\(name)")))
                    }
                case "required": c.required = value.arrayValue?.compactMap(\.stringValue) ?? []
                case "additionalProperties": c.additionalProperties = try compile(value, path: "\(path)/additionalProperties")
                case "items": c.items = try compile(value, path: "\(path)/items")
                case "minItems": c.minItems = try int()
                case "maxItems": c.maxItems = try int()
                case "minLength": c.minLength = try int()
                case "maxLength": c.maxLength = try int()
                case "pattern":
                    guard let s = value.stringValue else { throw LoadError(description: "\(path)/pattern: expected a string") }
                    do { c.pattern = try SchemaPattern(s) } catch {
                        throw LoadError(description: "\(path)/pattern: \(error)")
                    }
                case "format": c.format = value.stringValue
                case "enum": c.enumValues = value.arrayValue
                case "const": c.constValue = value
                case "minimum": c.minimum = try number()
                case "maximum": c.maximum = try number()
                case "allOf": c.allOf = try (value.arrayValue ?? []).enumerated().map { try compile($1, path: "\(path)/allOf/\($0)") }
                case "anyOf": c.anyOf = try (value.arrayValue ?? []).enumerated().map { try compile($1, path: "\(path)/anyOf/\($0)") }
                case "oneOf": c.oneOf = try (value.arrayValue ?? []).enumerated().map { try compile($1, path: "\(path)/oneOf/\($0)") }
                case "if":
                    c.ifThen = (
                        try compile(value, path: "\(path)/if"),
                        try o["then"].map { try compile($0, path: "\(path)/then") },
                        try o["else"].map { try compile($0, path: "\(path)/else") }
                    )
                case "then", "else": break
                case _ where annotationKeywords.contains(key): break
                default: throw LoadError(description: "\(path): unsupported schema keyword \"\(key)\"")
                }
            }
            return .constraints(c)
        default:
            throw LoadError(description: "\(path): a schema must be an object or a boolean")
        }
    }

    /// All violations, each as "<JSON pointer>: <reason>"; empty when valid.
    public func validate(_ value: JSONValue, limit: Int = 20) -> [String] {
        var errors: [String] = []
        check(root, value, "", &errors, limit)
        return errors
    }

    private func check(_ node: Node, _ v: JSONValue, _ path: String, _ errors: inout [String], _ limit: Int) {
        guard errors.count < limit else { return }
        switch node {
        case .any: return
        case .never: errors.append("\(path.isEmpty ? "/" : path): not allowed")
        case .ref(let name):
            guard let target = definitions[name] else {
                errors.append("\(path): unknown schema reference \(name)")
                return
            }
            check(target, v, path, &errors, limit)
        case .constraints(let c): check(c, v, path, &errors, limit)
        }
    }

    private func passes(_ node: Node, _ v: JSONValue) -> Bool {
        var e: [String] = []
        check(node, v, "", &e, 1)
        return e.isEmpty
    }

    private func check(_ c: Constraints, _ v: JSONValue, _ path: String, _ errors: inout [String], _ limit: Int) {
        let at = path.isEmpty ? "/" : path
        if let types = c.types {
            let t = v.typeName
            let ok =
                types.contains(t) || (t == "integer" && types.contains("number"))
                || (t == "double" && types.contains("integer"))
            if !ok {
                // 12.0 is an integer in JSON Schema; anything with a fraction is not.
                if case .double(let d) = v, types.contains("integer"), d == d.rounded(), abs(d) < 9e15 {
                } else {
                    errors.append("\(at): expected \(types.sorted().joined(separator: " or ")), found \(t)")
                    return
                }
            }
        }
        if let e = c.enumValues, !e.contains(v) {
            errors.append("\(at): must be one of \(e.map { $0.serialized() }.joined(separator: ", "))")
        }
        if let k = c.constValue, k != v { errors.append("\(at): must be \(k.serialized())") }
        switch v {
        case .string(let s):
            if c.minLength != nil || c.maxLength != nil {
                let n = s.unicodeScalars.count
                if let m = c.minLength, n < m { errors.append("\(at): shorter than \(m) characters") }
                if let m = c.maxLength, n > m { errors.append("\(at): longer than \(m) characters") }
            }
            if let p = c.pattern, !p.matches(s) {
                errors.append("\(at): does not match pattern \(p.source)")
            }
            if let f = c.format {
                switch f {
                case "date-time": if RFC3339.parse(s) == nil { errors.append("\(at): not an RFC 3339 date-time with offset") }
                case "date": if !JSONSchema.isDate(s) { errors.append("\(at): not a date (YYYY-MM-DD)") }
                case "uri": if !(s.hasPrefix("http://") || s.hasPrefix("https://")) { errors.append("\(at): not an http(s) URI") }
                default: break
                }
            }
        case .int, .double:
            let d: Double = {
                if case .int(let i) = v { return Double(i) }
                if case .double(let x) = v { return x }
                return 0
            }()
            if let m = c.minimum, d < m { errors.append("\(at): less than minimum \(JSONSchema.show(m))") }
            if let m = c.maximum, d > m { errors.append("\(at): greater than maximum \(JSONSchema.show(m))") }
        case .array(let items):
            if let m = c.minItems, items.count < m { errors.append("\(at): fewer than \(m) items") }
            if let m = c.maxItems, items.count > m {
                errors.append("\(at): more than \(m) items")
                return
            }
            if let itemSchema = c.items {
                for (i, item) in items.enumerated() { check(itemSchema, item, "\(path)/\(i)", &errors, limit) }
            }
        case .object(let o):
            for r in c.required where o[r] == nil { errors.append("\(at): missing required property \"\(r)\"") }
            for (key, value) in o {
                let child = "\(path)/\(key)"
                if let p = c.properties.first(where: { $0.0 == key }) {
                    check(p.1, value, child, &errors, limit)
                } else if let extra = c.additionalProperties {
                    if case .never = extra {
                        errors.append("\(at): unknown property \"\(key.prefix(64))\"")
                    } else {
                        check(extra, value, child, &errors, limit)
                    }
                }
            }
        default: break
        }
        for n in c.allOf { check(n, v, path, &errors, limit) }
        if !c.anyOf.isEmpty, !c.anyOf.contains(where: { passes($0, v) }) {
            errors.append("\(at): matches none of the allowed forms")
        }
        if !c.oneOf.isEmpty {
            let n = c.oneOf.filter { passes($0, v) }.count
            if n != 1 { errors.append("\(at): must match exactly one allowed form, matches \(n)") }
        }
        if let it = c.ifThen {
            if passes(it.condition, v) {
                if let t = it.then { check(t, v, path, &errors, limit) }
            } else if let e = it.else {
                check(e, v, path, &errors, limit)
            }
        }
    }

    static func show(_ d: Double) -> String { d == d.rounded() ? String(Int64(d)) : String(d) }

    static func isDate(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 10, u[4] == 0x2D, u[7] == 0x2D else { return false }
        for i in [0, 1, 2, 3, 5, 6, 8, 9] where !(0x30...0x39).contains(u[i]) { return false }
        guard let y = Int(s.prefix(4)), let m = Int(s.dropFirst(5).prefix(2)), let d = Int(s.suffix(2)) else { return false }
        return (1...12).contains(m) && d >= 1 && d <= RFC3339.daysIn(month: m, year: y)
    }
}
