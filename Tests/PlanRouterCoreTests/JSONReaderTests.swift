import Foundation
import PlanRouterCore
import Testing

@Suite struct JSONReaderTests {
    func reason(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let r as EventRejection {
            return r.reason
        } catch {
            return "not an EventRejection: \(error)"
        }
    }

    @Test func pointersAreJSONPointers() throws {
        let r = try JSONReader.object(.object(["a/b": .object(["x~y": 1]), "list": [.object(["k": "v"])]]))
        #expect(r.pointer("a/b") == "/data/a~1b")
        #expect(reason { _ = try r.object("a/b").string("x~y") } == "/data/a~1b/x~0y: expected string, found integer")
        #expect(
            reason { _ = try r.array("list") { i throws(EventRejection) in try i.int("k") } }
                == "/data/list/0/k: expected integer, found string")
        #expect(reason { _ = try r.string("nope") } == "/data/nope: missing")
        #expect(reason { _ = try JSONReader.object(.null) } == "/data: expected object, found null")
        #expect(reason { _ = try JSONReader(.array([]), path: "").asObject() } == "/: expected object, found array")
    }

    @Test func optionalsAreAbsentOrWellTyped() throws {
        let r = try JSONReader.object(.object(["s": "x", "n": .null, "i": 7, "d": .double(7.0), "f": .double(7.5), "b": false]))
        #expect(try r.optionalString("missing") == nil)
        #expect(try r.optionalString("s") == "x")
        #expect(reason { _ = try r.optionalString("n") } == "/data/n: expected string, found null")
        #expect(try r.optionalInt64("i") == 7)
        #expect(try r.optionalInt("d") == 7)
        #expect(reason { _ = try r.optionalInt("f") } == "/data/f: expected integer, found number")
        #expect(try r.optionalBool("b") == false)
        #expect(try r.optionalArray("missing") { i throws(EventRejection) in try i.asString() } == nil)
        #expect(try r.optionalObject("missing") == nil)
        #expect(reason { _ = try r.optionalObject("s") } == "/data/s: expected object, found string")
        #expect(r.contains("n") && !r.contains("missing"))
    }

    @Test func builderLeavesOutAbsentOptionals() {
        var b = JSONObjectBuilder()
        b.set("a", "x")
        b.set("b", nil as String?)
        b.set("c", Int64(5))
        b.set("d", nil as Date?)
        b.set("e", Date(timeIntervalSince1970: 1_796_224_493.25))
        b.set("f", AppointmentStatus.broken)
        b.set("g", [Weekday.mon, .sun])
        b.set("h", LocalDate("2026-12-01"))
        b.set("i", OffsetDateTime(Date(timeIntervalSince1970: 1_796_130_000), utcOffsetSeconds: 19_800))
        b.set("j", nil as [PlanProcedure]?)
        b.set("k", [] as [String])
        #expect(
            b.value.serialized()
                == #"{"a":"x","c":5,"e":"2026-12-02T15:14:53.250Z","f":"broken","g":["mon","sun"],"h":"2026-12-01","i":"2026-12-01T18:30:00+05:30","k":[]}"#
        )
    }

    /// For whole seconds, OffsetDateTime writes exactly what RFC3339.format(_:in:) writes; seeded.
    @Test func offsetDateTimeMatchesRFC3339FormatInZone() {
        let zones = [
            "America/New_York", "America/St_Johns", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "UTC", "Pacific/Honolulu",
        ]
        .compactMap(TimeZone.init(identifier:))
        let seed: UInt64 = ProcessInfo.processInfo.environment[TestSeed.variable].flatMap(UInt64.init) ?? 42
        var rng = SplitMix64(seed: seed)
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_000_000_000, using: &rng)))
            let zone = zones[Int.random(in: 0..<zones.count, using: &rng)]
            let o = OffsetDateTime(date, in: zone)
            #expect(
                o.rfc3339 == RFC3339.format(date, in: zone),
                "seed \(seed) (\(TestSeed.variable)=\(seed)): \(date.timeIntervalSince1970) \(zone.identifier)")
            #expect(OffsetDateTime(rfc3339: o.rfc3339) == o, "seed \(seed) (\(TestSeed.variable)=\(seed)): \(o.rfc3339)")
        }
    }

    @Test func offsetDateTimeParsing() throws {
        let o = try #require(OffsetDateTime(rfc3339: "2026-12-01T08:00:00.250-05:00"))
        #expect(o.utcOffsetSeconds == -18_000)
        #expect(o.date == RFC3339.parse("2026-12-01T13:00:00.250Z"))
        #expect(o.rfc3339 == "2026-12-01T08:00:00.250-05:00")
        #expect(OffsetDateTime(rfc3339: "2026-12-01T13:00:00Z")?.rfc3339 == "2026-12-01T13:00:00+00:00")
        #expect(OffsetDateTime(rfc3339: "2026-12-01T13:00:00z")?.utcOffsetSeconds == 0)
        #expect(OffsetDateTime(rfc3339: "2026-12-01T13:00:00") == nil)
        #expect(OffsetDateTime(rfc3339: "2026-12-01T13:00:00+0530") == nil)
        // Equal instants with other offsets are different values, ordered by instant first.
        let utc = OffsetDateTime(o.date)
        #expect(utc != o && utc.date == o.date)
        #expect(OffsetDateTime(o.date.addingTimeInterval(-1), utcOffsetSeconds: 3600) < o)
    }

    @Test func localDates() throws {
        #expect(LocalDate("2028-02-29")?.description == "2028-02-29")
        #expect(LocalDate("2026-02-29") == nil)
        #expect(LocalDate("2026-1-05") == nil)
        #expect(LocalDate("2026-01-05T00:00:00Z") == nil)
        #expect(LocalDate("２026-01-05") == nil)
        #expect(try #require(LocalDate("2026-12-01")) < (try #require(LocalDate("2026-12-02"))))
        #expect(LocalDate("1970-01-02")?.daysSince1970 == 1)
        #expect(LocalDate(year: 2026, month: 13, day: 1) == nil)
    }

    @Test func tiersAreOpenNames() {
        #expect(Tier.addOn.rawValue == "add_on")
        #expect(Tier("implants") == "implants")
        #expect(Tier(rawValue: "surgical") == .surgical)
        #expect(Weekday.allCases.map(\.isoNumber) == Array(1...7))
    }

    /// The typed members of plan.accepted, absent optionals read as nil.
    @Test func planAcceptedReadsItsEnums() throws {
        let plan = try PlanAccepted(data: Fixtures.botox)
        #expect(plan.acceptedVia == .chair)
        #expect(plan.patient.preferred == .sms)
        #expect(plan.patient.inOffice == nil && plan.patient.preferences == nil)
        #expect(plan.procedures[0].system == .service && !plan.procedures[0].isCDT)
        let full = try PlanAccepted(data: try #require(EventExamples.full[.planAccepted]))
        #expect(full.patient.preferences?.timesOfDay == [.morning, .evening] && full.patient.preferences?.weekdays == [.tue, .thu, .sat])
        #expect(full.patient.preferences?.weekdays?.map(\.isoNumber) == [2, 4, 6])
        #expect(full.procedures.map(\.role) == [.oralSurgeon, nil])
        #expect(full.procedures.map(\.system) == [.cdt, nil] && full.procedures.allSatisfy(\.isCDT))
        #expect(try PlanAccepted.procedures(nil) == [])
        #expect(try PlanAccepted.procedures(full.data["procedures"]) == full.procedures)
        #expect(reason { _ = try PlanAccepted.procedures([.object(["code": "D1110"])]) } == "/data/procedures/0/description: missing")
    }
}
