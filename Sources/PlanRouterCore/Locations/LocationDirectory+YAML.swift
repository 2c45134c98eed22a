import Foundation
import Yams

extension LocationDirectory {
    /// The file format this build reads.
    public static let format = 1

    /// Parses and validates a `locations.yaml`; throws `RulesValidationError` listing every
    /// problem with its YAML path and line, as the rules file does.
    public init(yaml: String) throws {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: yaml) else {
                throw RulesValidationError(errors: [RulesError(path: "", line: nil, message: "the file is empty")])
            }
            root = n
        } catch let e as RulesValidationError {
            throw e
        } catch {
            throw RulesValidationError(errors: [RulesError(path: "", line: nil, message: "not valid YAML: \(error)")])
        }
        var reader = RulesReader()
        let directory = reader.readDirectory(root)
        if !reader.errors.isEmpty { throw RulesValidationError(errors: reader.errors) }
        self = directory!
    }
}

extension RulesReader {
    /// 1–200 of A–Z a–z 0–9 . _ : @ -, starting with a letter or digit.
    static func isIdentifier(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...200).contains(u.count), isAlphanumeric(u[0]) else { return false }
        return u.allSatisfy { isAlphanumeric($0) || ".-_:@".utf8.contains($0) }
    }

    /// A tier name as the rules file spells it: a–z, then a–z 0–9 _.
    static func isTierName(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...64).contains(u.count), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(u[0]) else { return false }
        return u.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// +, a non-zero digit, then 6–14 digits.
    static func isE164(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (8...16).contains(u.count), u[0] == UInt8(ascii: "+"), u[1] != UInt8(ascii: "0") else { return false }
        return u.dropFirst().allSatisfy(isDigit)
    }

    static func isDigit(_ c: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) }
    static func isAlphanumeric(_ c: UInt8) -> Bool {
        isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
    }

    mutating func readDirectory(_ root: Node) -> LocationDirectory? {
        var format: Int64?
        var organization: (id: String, name: String, target: Double?)?
        var locations: [LocationDirectory.Location] = []
        var sawLocations = false
        for (key, v) in mapping(root, "", allowed: ["format", "organization", "locations"]) ?? [] {
            switch key {
            case "format":
                format = int(v, key, 1...Int64(LocationDirectory.format))
            case "organization":
                organization = readDirectoryOrganization(v, key)
            default:
                sawLocations = true
                locations = readDirectoryLocations(v, key)
            }
        }
        if format == nil, errors.isEmpty { fail("format", nil, "missing; write `format: \(LocationDirectory.format)`") }
        if organization == nil, errors.isEmpty { fail("organization", nil, "missing: give its id and name") }
        if !sawLocations { fail("locations", nil, "missing: list the organization's locations by id") }
        guard let organization, errors.isEmpty else { return nil }
        return LocationDirectory(
            organizationID: organization.id, organizationName: organization.name, sameDayTargetPercent: organization.target,
            locations: locations)
    }

    mutating func readDirectoryOrganization(_ node: Node, _ path: String) -> (id: String, name: String, target: Double?)? {
        var id: String?
        var name: String?
        var target: Double?
        for (key, v) in mapping(node, path, allowed: ["id", "name", "same_day_target"]) ?? [] {
            let p = child(path, key)
            switch key {
            case "id": id = identifier(v, p)
            case "name": name = text(v, p, limit: 200)
            default: target = percent(v, p)
            }
        }
        if id == nil, !errors.contains(where: { $0.path == child(path, "id") }) { fail(child(path, "id"), node, "missing") }
        if name == nil, !errors.contains(where: { $0.path == child(path, "name") }) { fail(child(path, "name"), node, "missing") }
        guard let id, let name else { return nil }
        return (id, name, target)
    }

    mutating func readDirectoryLocations(_ node: Node, _ path: String) -> [LocationDirectory.Location] {
        guard let m = node.mapping else {
            fail(path, node, "expected a mapping from location id to its details")
            return []
        }
        var seen: Set<String> = []
        var out: [LocationDirectory.Location] = []
        for (k, v) in m {
            guard let id = k.scalar?.string else {
                fail(path, k, "location ids must be strings")
                continue
            }
            let p = child(path, id)
            guard Self.isIdentifier(id) else {
                fail(p, k, "a location id is 1–200 letters, digits or . _ : @ - and starts with a letter or digit")
                continue
            }
            guard seen.insert(id).inserted else {
                fail(p, k, "this location is listed twice")
                continue
            }
            if let location = readDirectoryLocation(id: id, v, p) { out.append(location) }
        }
        return out
    }

    mutating func readDirectoryLocation(id: String, _ node: Node, _ path: String) -> LocationDirectory.Location? {
        var location = LocationDirectory.Location(id: id, name: "")
        var named = false
        let allowed: Set<String> = ["name", "time_zone", "address", "phone", "coordinators", "quiet_hours", "same_day_target"]
        for (key, v) in mapping(node, path, allowed: allowed) ?? [] {
            let p = child(path, key)
            switch key {
            case "name":
                location.name = text(v, p, limit: 200) ?? ""
                named = true
            case "time_zone":
                guard let zone = string(v, p) else { break }
                if TimeZone(identifier: zone) == nil || !zone.contains("/") && zone != "UTC" {
                    fail(p, v, "not an IANA time zone (such as America/Chicago)")
                } else {
                    location.timeZone = zone
                }
            case "address": location.address = text(v, p, limit: 500)
            case "phone":
                guard let phone = string(v, p) else { break }
                if !Self.isE164(phone) {
                    fail(p, v, "expected an E.164 number such as +15555550100")
                } else {
                    location.phone = phone
                }
            case "coordinators":
                for (tier, owner) in mapping(v, p, allowed: []) ?? [] {
                    let q = child(p, tier)
                    guard let who = identifier(owner, q) else { continue }
                    if tier == "default" {
                        location.defaultCoordinator = who
                    } else if !Self.isTierName(tier) {
                        fail(q, owner, "not a tier name (lower-case letters, digits and _), nor `default`")
                    } else {
                        location.coordinatorsByTier[tier] = who
                    }
                }
            case "quiet_hours": location.quietHours = readQuietHours(v, p)
            default: location.sameDayTargetPercent = percent(v, p)
            }
        }
        if !named { fail(child(path, "name"), node, "missing: the name patients read in texts and on the booking page") }
        return location
    }

    mutating func identifier(_ node: Node, _ path: String) -> String? {
        guard let s = string(node, path) else { return nil }
        guard Self.isIdentifier(s) else {
            fail(path, node, "an id is 1–200 letters, digits or . _ : @ - and starts with a letter or digit")
            return nil
        }
        return s
    }

    /// Text shown to people: no control characters, bounded.
    mutating func text(_ node: Node, _ path: String, limit: Int) -> String? {
        guard let s = string(node, path) else { return nil }
        if s.count > limit || s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            fail(path, node, "at most \(limit) characters on one line")
            return nil
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// "40%" or 40 → 40.0 (percent of accepted cases).
    mutating func percent(_ node: Node, _ path: String) -> Double? {
        let raw = (node.scalar?.string ?? "").trimmingCharacters(in: .whitespaces)
        let number = raw.hasSuffix("%") ? String(raw.dropLast()) : raw
        guard let v = Double(number), v.isFinite, (0...100).contains(v) else {
            fail(path, node, "expected a percentage between 0% and 100%")
            return nil
        }
        return v
    }
}

extension LocationDirectory {
    /// `planrouter locations example`: every key, commented.
    public static let exampleYAML = """
        # locations.yaml: load with `planrouter locations load locations.yaml` (docs/configuration.md).
        format: 1
        organization:
          id: org-smile                 # the organization id the PMS connector puts on events
          name: Smile Dental Group
          same_day_target: 40%          # share of accepted cases booked the day they are accepted
        locations:
          loc-riverside:                # the location id on events
            name: Smile Dental Riverside            # what patients read in texts and on the booking page
            time_zone: America/Chicago              # optional: otherwise the zone the PMS reports
            address: 12 River St, Springfield, IL
            phone: "+15555550100"                   # E.164; shown to patients
            coordinators:                           # who owns coordinator tasks here
              default: coord-anna
              surgical: coord-ben                   # per tier: the surgical approver
              aesthetic: coord-cara
            quiet_hours: { start: "20:00", end: "08:00" }   # optional: otherwise the rules file's
            same_day_target: 50%                    # optional: otherwise the organization's
          loc-lakeside:
            name: Smile Dental Lakeside
            coordinators: { default: coord-dan }

        """
}
