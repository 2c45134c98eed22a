import Foundation

/// `patient.messages`: a message for the messaging integration to send to a patient
/// (from the offer and escalation workers). Carries contact details: never logged.
public struct PatientMessage: EventData {
    public static let eventType = EventType.patientMessages

    /// `openings[]`: an opening offered, in the location's local time.
    public struct Opening: JSONObjectCoding {
        /// Written with the location's offset, e.g. `2026-12-01T08:00:00-05:00`.
        public var start: OffsetDateTime
        public var end: OffsetDateTime
        public var providerID: String
        public var operatoryID: String?
        /// E.g. `Tue Dec 1, 8:00 AM`.
        public var localTime: String?

        public init(start: OffsetDateTime, end: OffsetDateTime, providerID: String, operatoryID: String? = nil, localTime: String? = nil) {
            self.start = start
            self.end = end
            self.providerID = providerID
            self.operatoryID = operatoryID
            self.localTime = localTime
        }

        public init(_ r: JSONReader) throws(EventRejection) {
            start = try r.offsetDateTime("start")
            end = try r.offsetDateTime("end")
            providerID = try r.string("provider_id")
            operatoryID = try r.optionalString("operatory_id")
            localTime = try r.optionalString("local_time")
        }

        /// Members in the order the offer worker has always written them (not the schema's).
        public var json: JSONValue {
            var b = JSONObjectBuilder()
            b.set("provider_id", providerID)
            b.set("start", start)
            b.set("end", end)
            b.set("local_time", localTime)
            b.set("operatory_id", operatoryID)
            return b.value
        }
    }

    /// The sender's dedupe key.
    public var messageID: String
    public var organizationID: String
    public var locationID: String
    public var planID: String
    public var patientID: String
    public var channel: MessageChannel
    /// An E.164 phone number or an email address.
    public var to: String
    public var kind: MessageKind
    /// Email only.
    public var subject: String?
    /// Rendered text, at most 1,600 characters.
    public var body: String
    /// The signed self-booking link.
    public var link: String?
    public var openings: [Opening]?
    /// Do not send before this instant (quiet hours).
    public var sendAfter: Date?
    /// The first offer this message carries (offers.id): the notify worker records when the
    /// provider accepted it, which is when analytics count the case offered.
    public var offerID: Int64?
    /// A confirmation's appointment as an iCalendar file (RFC 5545); email attaches it, SMS ignores it.
    public var calendar: String?

    public init(
        messageID: String, organizationID: String, locationID: String, planID: String, patientID: String, channel: MessageChannel,
        to: String, kind: MessageKind, subject: String? = nil, body: String, link: String? = nil, openings: [Opening]? = nil,
        sendAfter: Date? = nil, offerID: Int64? = nil, calendar: String? = nil
    ) {
        self.messageID = messageID
        self.organizationID = organizationID
        self.locationID = locationID
        self.planID = planID
        self.patientID = patientID
        self.channel = channel
        self.to = to
        self.kind = kind
        self.subject = subject
        self.body = body
        self.link = link
        self.openings = openings
        self.sendAfter = sendAfter
        self.offerID = offerID
        self.calendar = calendar
    }

    public init(data: JSONValue) throws(EventRejection) {
        let r = try JSONReader.object(data)
        messageID = try r.string("message_id")
        organizationID = try r.string("organization_id")
        locationID = try r.string("location_id")
        planID = try r.string("plan_id")
        patientID = try r.string("patient_id")
        channel = try r.string("channel", as: MessageChannel.self)
        to = try r.string("to")
        kind = try r.string("kind", as: MessageKind.self)
        subject = try r.optionalString("subject")
        body = try r.string("body")
        link = try r.optionalString("link")
        openings = try r.optionalArray("openings") { o throws(EventRejection) in try Opening(o) }
        sendAfter = try r.optionalDate("send_after")
        offerID = try r.optionalInt64("offer_id")
        calendar = try r.optionalString("calendar")
    }

    public var data: JSONValue {
        var b = JSONObjectBuilder()
        b.set("message_id", messageID)
        b.set("organization_id", organizationID)
        b.set("location_id", locationID)
        b.set("plan_id", planID)
        b.set("patient_id", patientID)
        b.set("channel", channel)
        b.set("to", to)
        b.set("kind", kind)
        b.set("subject", subject)
        b.set("body", body)
        b.set("link", link)
        b.set("openings", openings)
        b.set("send_after", sendAfter)
        b.set("offer_id", offerID)
        b.set("calendar", calendar)
        return b.value
    }
}
