import Foundation
import PlanRouterCore
import Testing

/// Input judged by the contract (issue 12): patterns match whole strings, timestamps are
/// instants of years 0001-9999, acceptances fall in a window around the worker's "now",
/// a topic carries its own type, and rejection reasons are storable and free of values.
@Suite struct InputIntegrityTests {
    let v = EventValidator.shared

    func reject(_ value: JSONValue, expecting: Set<EventType>? = [.planAccepted], topic: String? = nil) -> EventRejection? {
        do {
            _ = try v.decode(value.serializedBytes(), expecting: expecting, topic: topic)
            return nil
        } catch { return error }
    }

    /// `Fixtures.crown` with `data[key]` (or `data.patient[key]`) replaced.
    func crown(_ key: String, _ value: JSONValue, inPatient: Bool = false) -> JSONValue {
        var d = Fixtures.crown.objectValue!
        if inPatient {
            var p = d["patient"]!.objectValue!
            p[key] = value
            d["patient"] = .object(p)
        } else {
            d[key] = value
        }
        return Fixtures.envelope(.object(d))
    }

    // MARK: 8. patterns

    @Test func aTrailingNewlineDoesNotMatchAPattern() {
        let cases: [(String, JSONValue, Bool, String)] = [
            ("plan_id", "tp-88412\n", false, "/data/plan_id"),
            ("location_id", "loc-12\n", false, "/data/location_id"),
            ("phone", "+16175550123\n", true, "/data/patient/phone"),
            ("email", "maria@example.com\n", true, "/data/patient/email"),
            ("id", "pat-77\n", true, "/data/patient/id"),
        ]
        for (key, value, inPatient, pointer) in cases {
            let r = reject(crown(key, value, inPatient: inPatient))
            #expect(r?.kind == .invalidData, "\(pointer) with a trailing newline was accepted")
            #expect(r?.reason.hasPrefix("\(pointer): does not match pattern") == true, "\(r?.reason ?? "accepted")")
        }
        var procedure = Fixtures.procedure("D2740", 135_000).objectValue!
        procedure["code"] = "D2740\n"
        #expect(reject(crown("procedures", [.object(procedure)]))?.reason.contains("/data/procedures/0/code") == true)
        // The envelope too: an id with a newline is not an id.
        var e = Fixtures.envelope(Fixtures.crown).objectValue!
        e["id"] = "evt-1\n"
        #expect(reject(.object(e))?.kind == .invalidEnvelope)
        // Still valid without it.
        #expect(reject(crown("plan_id", "tp-88412")) == nil)
    }

    @Test func dollarBecomesEndOfInputOnlyOutsideClassesAndEscapes() throws {
        let schema = try JSONSchema(json: #"{"type": "string", "pattern": "^a[$]\\$b$"}"#)
        #expect(schema.validate(.string("a$$b")).isEmpty)
        #expect(!schema.validate(.string("a$$b\n")).isEmpty)
        let unanchored = try JSONSchema(json: #"{"type": "string", "pattern": "x$"}"#)
        #expect(unanchored.validate(.string("abx")).isEmpty)
        #expect(!unanchored.validate(.string("abx\n")).isEmpty)
        #expect(!unanchored.validate(.string("x\ny")).isEmpty)
    }

    // MARK: 9. timestamps and the acceptance window

    @Test func timestampsOutsideYears0001To9999AreNotRFC3339() {
        #expect(RFC3339.parse("0001-01-01T00:00:00Z") != nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59.999Z") != nil)
        #expect(RFC3339.parse("0001-01-01T00:30:00-01:00") != nil)
        #expect(RFC3339.parse("9999-12-31T23:30:00+05:00") != nil)
        // UTC instants in year 0 or year 10000.
        #expect(RFC3339.parse("0000-06-01T00:00:00Z") == nil)
        #expect(RFC3339.parse("0001-01-01T00:30:00+01:00") == nil)
        #expect(RFC3339.parse("9999-12-31T23:30:00-05:00") == nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59-00:01") == nil)

        let r = reject(crown("accepted_at", "9999-12-31T23:30:00-05:00"))
        #expect(r?.kind == .invalidData)
        #expect(r?.reason == "/data/accepted_at: not an RFC 3339 date-time with offset")
        var e = Fixtures.envelope(Fixtures.crown).objectValue!
        e["time"] = "0001-01-01T00:00:00+00:30"
        #expect(reject(.object(e))?.kind == .invalidEnvelope)
    }

    @Test func theAcceptanceWindowIsAroundTheGivenNow() {
        let now = RFC3339.parse("2026-11-29T10:00:00Z")!
        let w = AcceptanceWindow.standard
        #expect(w.maximumLead == .seconds(86_400))
        #expect(w.maximumAge == .seconds(730 * 86_400))
        for ok in ["2026-11-29T10:00:00Z", "2026-11-30T10:00:00Z", "2024-11-30T10:00:00Z", "2026-11-29T04:00:00-05:00"] {
            #expect(w.violation(RFC3339.parse(ok)!, now: now, field: "/data/accepted_at") == nil, "\(ok)")
        }
        #expect(
            w.violation(RFC3339.parse("2026-11-30T10:00:01Z")!, now: now, field: "/data/accepted_at")
                == "/data/accepted_at: more than 24 h after the worker's time 2026-11-29T10:00:00Z (acceptance window)")
        #expect(
            w.violation(RFC3339.parse("1900-01-01T00:00:00Z")!, now: now, field: "/data/changed_at")
                == "/data/changed_at: more than 730 days before the worker's time 2026-11-29T10:00:00Z (acceptance window)")
        #expect(w.violation(RFC3339.parse("9999-12-31T00:00:00Z")!, now: now, field: "/data/accepted_at") != nil)
        // Whatever "now" is: a simulated clock in 2031 takes acceptances of 2031.
        let later = RFC3339.parse("2031-03-01T00:00:00Z")!
        #expect(w.violation(RFC3339.parse("2031-02-28T12:00:00Z")!, now: later, field: "/data/accepted_at") == nil)
        #expect(w.violation(RFC3339.parse("2026-11-29T10:00:00Z")!, now: later, field: "/data/accepted_at") != nil)
    }

    // MARK: 10. a topic carries its type

    @Test func anUnexpectedTypeIsNamedWithItsTopic() {
        let changed = Fixtures.envelope(
            .object([
                "organization_id": "org-1", "location_id": "loc-12", "plan_id": "plan-1001", "changed_at": "2026-11-30T10:15:00Z",
                "change": "declined",
            ]), type: "planrouter.plan.changed.v1")
        let r = reject(changed, expecting: [.planAccepted], topic: "plan.accepted")
        #expect(r?.kind == .unexpectedType)
        #expect(
            r?.reason
                == "event type planrouter.plan.changed.v1 does not belong on topic plan.accepted, which carries planrouter.plan.accepted.v1"
        )
        #expect(reject(changed, expecting: [.planChanged], topic: "plan.changed") == nil)
    }

    // MARK: 11. reasons are storable and carry no values

    @Test func reasonsEscapeControlCharactersAndAreBounded() {
        #expect(RejectionReason.storable("a\u{0}b\u{1F}c\nd\u{7F}e\u{85}f\u{2028}g") == #"a\u0000b\u001fc\u000ad\u007fe\u0085f\u2028g"#)
        let long = String(repeating: "x", count: 5000)
        let cut = RejectionReason.storable(long)
        #expect(cut.unicodeScalars.count == RejectionReason.maximumLength)
        #expect(cut.hasSuffix("…"))
        #expect(RejectionReason.storable(cut) == cut)
        let exact = String(repeating: "y", count: RejectionReason.maximumLength)
        #expect(RejectionReason.storable(exact) == exact)
        let escaped = RejectionReason.storable("k\u{0}")
        #expect(RejectionReason.storable(escaped) == escaped)
    }

    @Test func aPropertyNameWithNULGivesAStorableReason() {
        let r = reject(crown("not\u{0}allowed", true))
        #expect(r?.kind == .invalidData)
        #expect(r?.reason == #"/data/: unknown property "not\u0000allowed""#)
        #expect(r?.reason.unicodeScalars.contains { $0.value < 0x20 } == false)
        // A duplicate key with a NUL (invalid_json) as well.
        let bytes = Array(#"{"a\u0000": 1, "a\u0000": 2}"#.utf8)
        do {
            _ = try v.decode(bytes)
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .invalidJSON)
            #expect(!error.reason.unicodeScalars.contains { $0.value < 0x20 })
        }
    }

    @Test func reasonsNeverQuotePatientValues() {
        let name = "Mariaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        let values: [(String, JSONValue)] = [
            ("first_name", .string(name)), ("phone", "+1617555012x"), ("phone", "617-555-0123"), ("email", "maria at example.com"),
            ("email", .int(6_175_550_123)), ("preferred_channel", "maria@example.com"), ("first_name", ""),
        ]
        for (key, value) in values {
            let r = reject(crown(key, value, inPatient: true))
            #expect(r?.kind == .invalidData, "\(key) accepted")
            let text = r?.reason ?? ""
            for needle in [name, "+1617555012x", "617-555-0123", "maria at example.com", "6175550123", "maria@example.com"] {
                #expect(!text.contains(needle), "reason quotes a value: \(text)")
            }
        }
    }

    // MARK: 12. integers written as N.0

    /// docs/events.md "Known limitations": `42000.0` is valid JSON Schema integer and the
    /// classifier reads it as 42000 cents; a fraction is rejected.
    @Test func integersWithAZeroFractionAreAccepted() throws {
        var procedure = Fixtures.procedure("D2740", 135_000).objectValue!
        procedure["fee_cents"] = .double(42_000.0)
        var d = Fixtures.crown.objectValue!
        d["procedures"] = [.object(procedure)]
        d["total_fee_cents"] = .double(42_000.0)
        d["patient_portion_cents"] = .double(21_000.0)
        let e = try v.decode(Fixtures.envelope(.object(d)).serializedBytes(), expecting: [.planAccepted])
        let plan = try PlanAccepted(data: e.data)
        #expect(plan.procedures.map(\.feeCents) == [42_000])
        #expect(plan.totalFeeCents == 42_000)
        #expect(plan.patientPortionCents == 21_000)
        procedure["fee_cents"] = .double(42_000.5)
        d["procedures"] = [.object(procedure)]
        #expect(reject(Fixtures.envelope(.object(d)))?.reason.contains("/data/procedures/0/fee_cents: expected integer") == true)

        let text = try Docs.text("docs/events.md")
        let limitations = String(text[text.range(of: "## Known limitations")!.lowerBound...])
        #expect(!limitations.contains("dead-letters the event"), "docs/events.md still says 135000.0 is dead-lettered")
        #expect(limitations.contains("`42000.0`"), "docs/events.md should say what happens to 42000.0")
    }
}
