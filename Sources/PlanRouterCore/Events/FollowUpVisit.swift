import Foundation

/// `plan.accepted` `visit`: set only by PlanRouter (source `planrouter/visits`) when it routes a later
/// visit of a plan split by the rules (docs/rules.md#visits). The follow-up case's `plan_id` is derived
/// from the parent's and the visit number (`followUpPlanID`).
public struct FollowUpVisit: JSONObjectCoding {
    /// The source of every follow-up acceptance; the classifier refuses `visit` from any other.
    public static let source = "planrouter/visits"

    public var parentPlanID: String
    /// 2 or later (visit 1 is the parent plan's own case).
    public var number: Int
    /// How many visits the parent plan has.
    public var of: Int
    public var kind: VisitKind
    /// A visit of a series (`series: true`), routed when the previous visit was booked: no opening is
    /// offered before this instant (that booking's start + the rule's `after`). Nil for a visit routed
    /// after the previous one was completed, which is routed only once its interval has passed.
    public var notBefore: Date?

    public init(parentPlanID: String, number: Int, of: Int, kind: VisitKind, notBefore: Date? = nil) {
        self.parentPlanID = parentPlanID
        self.number = number
        self.of = of
        self.kind = kind
        self.notBefore = notBefore
    }

    public init(_ r: JSONReader) throws(EventRejection) {
        parentPlanID = try r.string("parent_plan_id")
        number = try r.int("number")
        of = try r.int("of")
        kind = try r.string("kind", as: VisitKind.self)
        notBefore = try r.optionalDate("not_before")
    }

    public var json: JSONValue {
        var b = JSONObjectBuilder()
        b.set("parent_plan_id", parentPlanID)
        b.set("number", number)
        b.set("of", of)
        b.set("kind", kind)
        b.set("not_before", notBefore)
        return b.value
    }

    /// `<parent>/visit-<n>`, within the contract's 128 characters: a longer parent id is cut and keeps
    /// a hash of the whole id, so two long ids sharing a prefix still get different follow-ups.
    public static func followUpPlanID(parent: String, number: Int) -> String {
        let suffix = "/visit-\(number)"
        if parent.utf8.count + suffix.utf8.count <= 128 { return parent + suffix }
        let tag = ".h" + String(stableHash(parent), radix: 16)  // the id pattern allows no other separator here
        return String(parent.prefix(128 - suffix.utf8.count - tag.utf8.count)) + tag + suffix
    }

    /// The id of the follow-up's acceptance event: one per parent plan and visit, so routing it twice
    /// is deduplicated by the classifier's inbox.
    public static func eventID(organizationID: String, parent: String, number: Int) -> String {
        "visit-\(String(stableHash("\(organizationID)\u{0}\(parent)"), radix: 16))-\(number)"
    }

    /// FNV-1a: the same in every process and release, unlike `Hasher`, so derived ids never change.
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 {
            hash ^= UInt64(b)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
