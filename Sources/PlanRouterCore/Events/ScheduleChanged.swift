import Foundation

/// `schedule.changed`: a location's open blocks and blockouts for the location-local
/// dates `from`…`to` (inclusive), replacing every earlier one in that range (from PMS
/// connectors).
public struct ScheduleChanged: EventData {
    public static let eventType = EventType.scheduleChanged

    /// `providers[]`: a provider's roles and default operatories.
    public struct Provider: JSONObjectCoding {
        public var id: String
        public var roles: [ProviderRole]?
        /// The provider's default operatories; none = any.
        public var operatoryIDs: [String]?

        public init(id: String, roles: [ProviderRole]? = nil, operatoryIDs: [String]? = nil) {
            self.id = id
            self.roles = roles
            self.operatoryIDs = operatoryIDs
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            id = try r.string("id")
            roles = try r.optionalArray("roles") { i throws(EventRejection) in try i.asString(as: ProviderRole.self) }
            operatoryIDs = try r.optionalArray("operatory_ids") { i throws(EventRejection) in try i.asString() }
        }

        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("id", id)
            b.set("roles", roles)
            b.set("operatory_ids", operatoryIDs)
            return b.value
        }
    }

    /// `blocks[]`: an open block of a provider.
    public struct Block: JSONObjectCoding {
        public var providerID: String
        public var start: Date
        public var end: Date
        public var operatoryIDs: [String]?

        public init(providerID: String, start: Date, end: Date, operatoryIDs: [String]? = nil) {
            self.providerID = providerID
            self.start = start
            self.end = end
            self.operatoryIDs = operatoryIDs
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            providerID = try r.string("provider_id")
            start = try r.date("start")
            end = try r.date("end")
            operatoryIDs = try r.optionalArray("operatory_ids") { i throws(EventRejection) in try i.asString() }
        }

        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("provider_id", providerID)
            b.set("start", start)
            b.set("end", end)
            b.set("operatory_ids", operatoryIDs)
            return b.value
        }
    }

    /// `blockouts[]`: time that may not be booked (or only for its type's work).
    public struct Blockout: JSONObjectCoding {
        public var start: Date
        public var end: Date
        /// `do_not_schedule`, `crown_only` or a practice's own type.
        public var type: String
        public var providerID: String?
        public var operatoryIDs: [String]?

        public init(start: Date, end: Date, type: String, providerID: String? = nil, operatoryIDs: [String]? = nil) {
            self.start = start
            self.end = end
            self.type = type
            self.providerID = providerID
            self.operatoryIDs = operatoryIDs
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            start = try r.date("start")
            end = try r.date("end")
            type = try r.string("type")
            providerID = try r.optionalString("provider_id")
            operatoryIDs = try r.optionalArray("operatory_ids") { i throws(EventRejection) in try i.asString() }
        }

        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("start", start)
            b.set("end", end)
            b.set("type", type)
            b.set("provider_id", providerID)
            b.set("operatory_ids", operatoryIDs)
            return b.value
        }
    }

    public var organizationID: String
    public var locationID: String
    /// The version of this schedule; newer wins.
    public var changedAt: Date
    /// The location's IANA zone (`America/New_York`); the schema does not check that it exists.
    public var timeZone: String?
    public var from: LocalDate
    public var to: LocalDate
    public var providers: [Provider]?
    /// May be empty: a closed range.
    public var blocks: [Block]
    public var blockouts: [Blockout]?

    public init(
        organizationID: String, locationID: String, changedAt: Date, timeZone: String? = nil, from: LocalDate, to: LocalDate,
        providers: [Provider]? = nil, blocks: [Block], blockouts: [Blockout]? = nil
    ) {
        self.organizationID = organizationID
        self.locationID = locationID
        self.changedAt = changedAt
        self.timeZone = timeZone
        self.from = from
        self.to = to
        self.providers = providers
        self.blocks = blocks
        self.blockouts = blockouts
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        changedAt = try r.date("changed_at")
        timeZone = try r.optionalString("time_zone")
        from = try r.localDate("from")
        to = try r.localDate("to")
        providers = try r.optionalArray("providers") { p throws(EventRejection) in try Provider(p) }
        blocks = try r.array("blocks") { b throws(EventRejection) in try Block(b) }
        blockouts = try r.optionalArray("blockouts") { b throws(EventRejection) in try Blockout(b) }
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("changed_at", changedAt)
        b.set("time_zone", timeZone)
        b.set("from", from)
        b.set("to", to)
        b.set("providers", providers)
        b.set("blocks", blocks)
        b.set("blockouts", blockouts)
        return b.value
    }
}
