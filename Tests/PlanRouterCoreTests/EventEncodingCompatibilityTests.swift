import Foundation
import PlanRouterCore
import Testing

/// The typed encoders write byte for byte what the workers write today with hand-built
/// `JSONObject`s (ClassifierHandler.classifiedEvent, OfferHandler+Record's message,
/// deposit and insertTasks, Escalations, LifecycleHandler.reopen, BookingService.book),
/// so switching a handler to the types changes no outgoing event. Each test below
/// copies the handler's construction as it is on main.
@Suite struct EventEncodingCompatibilityTests {
    let now = RFC3339.parse("2026-11-30T15:14:53.120Z")!
    let newYork = TimeZone(identifier: "America/New_York")!

    func sameBytes(_ typed: some EventData, _ handBuilt: JSONObject, _ what: String) {
        #expect(typed.data.serialized() == JSONValue.object(handBuilt).serialized(), "\(what)")
        #expect(EventValidator.shared.validate(typed) == [], "\(what)")
    }

    @Test func planClassifiedAsTheClassifierWritesIt() throws {
        for data in [Fixtures.implant, Fixtures.crown, Fixtures.botox, Fixtures.sealant, try #require(EventExamples.full[.planAccepted])] {
            let plan = try PlanAccepted(data: data)
            var c = Classifier.classify(plan, rules: .defaults, rulesVersion: 4)
            c.reasons.append(String(repeating: "long reason ", count: 40))  // cut to 300 characters
            // ClassifierHandler.classifiedEvent:
            var d: JSONObject = [
                "organization_id": .string(plan.organizationID), "location_id": .string(plan.locationID),
                "plan_id": .string(plan.planID), "patient_id": .string(plan.patient.id), "provider_id": .string(plan.providerID),
            ]
            if let co = plan.coordinatorID { d["coordinator_id"] = .string(co) }
            d["accepted_at"] = .string(RFC3339.format(plan.acceptedAt))
            d["classified_at"] = .string(RFC3339.format(now))
            d["tier"] = .string(c.tier.rawValue)
            d["path"] = .string(c.path.rawValue)
            d["chair_minutes"] = .int(Int64(c.chairMinutes))
            d["value_cents"] = .int(c.valueCents)
            d["deposit_cents"] = .int(c.depositCents)
            d["first_offer_sla_minutes"] = .int(Int64(max(1, c.firstOfferSLASeconds / 60)))
            if let r = c.providerRole { d["provider_role"] = .string(r.rawValue) }
            d["rules_version"] = .int(Int64(c.rulesVersion))
            d["reasons"] = .array(c.reasons.map { .string(String($0.prefix(300))) })

            let typed = PlanClassified(plan: plan, classification: c, classifiedAt: now)
            sameBytes(typed, d, plan.planID)
            // The whole envelope too.
            let id = "5d0c6f0e-8a51-4b8e-9a1f-2f4d7f3b9c21"
            let old = CloudEvent(
                id: id, source: "planrouter/classifier", type: .planClassified, time: now, subject: plan.planID, data: .object(d))
            let new = CloudEvent(id: id, source: "planrouter/classifier", time: now, subject: plan.planID, data: typed)
            #expect(new.serializedBytes() == old.serializedBytes())
        }
    }

    /// OfferHandler.openingsJSON and .message: local times with the location's offset
    /// (here across the end of daylight saving time), reservation_id dropped.
    @Test func patientMessageAsTheOfferWorkerWritesIt() throws {
        struct Held {
            var reservationID: Int64
            var providerID: String
            var operatoryID: String?
            var start: Int64
            var end: Int64
        }
        let held = [
            // Oct 30, EDT
            Held(reservationID: 9001, providerID: "prov-okafor", operatoryID: "op-1", start: 1_793_368_800, end: 1_793_377_800),
            Held(reservationID: 9002, providerID: "prov-okafor", operatoryID: nil, start: 1_793_718_000, end: 1_793_727_000),  // Nov 3, EST
        ]
        for (zone, channel, sendAfter) in [(newYork, "email", Optional(now)), (TimeZone(identifier: "UTC")!, "sms", nil)] {
            let openings: [JSONValue] = held.map { h in
                var o: JSONObject = [
                    "reservation_id": .int(h.reservationID), "provider_id": .string(h.providerID),
                    "start": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.start)), in: zone)),
                    "end": .string(RFC3339.format(Date(timeIntervalSince1970: Double(h.end)), in: zone)),
                    "local_time": .string(LocalTime.format(h.start, in: zone)),
                ]
                if let op = h.operatoryID { o["operatory_id"] = .string(op) }
                return .object(o)
            }
            let link = "https://book.planrouter.dev/b/eyJvIjoib2ZyLTkxMjIifQ.k3Jd9xQ"
            var d: JSONObject = [
                "message_id": "0b9e7c4e-5f0a-4d7e-8c11-2f6b1a9d3e70", "organization_id": "org-brightsmile",
                "location_id": "loc-12", "plan_id": "tp-88412", "patient_id": "pat-20931",
                "channel": .string(channel), "to": "+16175550123", "kind": "offer",
            ]
            if channel == "email" { d["subject"] = "Your treatment at BrightSmile" }
            d["body"] = .string("Hi Maria, \"quoted\"\nBook here: \(link)")
            d["link"] = .string(link)
            d["openings"] = .array(
                openings.map { o in
                    var x = o.objectValue!
                    x["reservation_id"] = nil
                    return .object(x)
                })
            if let sendAfter { d["send_after"] = .string(RFC3339.format(sendAfter)) }

            let typed = PatientMessage(
                messageID: "0b9e7c4e-5f0a-4d7e-8c11-2f6b1a9d3e70", organizationID: "org-brightsmile", locationID: "loc-12",
                planID: "tp-88412",
                patientID: "pat-20931", channel: try #require(MessageChannel(rawValue: channel)), to: "+16175550123", kind: .offer,
                subject: channel == "email" ? "Your treatment at BrightSmile" : nil, body: d["body"]!.stringValue!, link: link,
                openings: held.map { h in
                    PatientMessage.Opening(
                        start: OffsetDateTime(Date(timeIntervalSince1970: Double(h.start)), in: zone),
                        end: OffsetDateTime(Date(timeIntervalSince1970: Double(h.end)), in: zone), providerID: h.providerID,
                        operatoryID: h.operatoryID, localTime: LocalTime.format(h.start, in: zone))
                },
                sendAfter: sendAfter)
            sameBytes(typed, d, "\(zone.identifier) \(channel)")
            if zone == newYork {
                #expect(typed.openings?.map(\.start.rfc3339) == ["2026-10-30T10:00:00-04:00", "2026-11-03T10:00:00-05:00"])
            }
        }
    }

    /// OfferHandler.deposit.
    @Test func depositRequestAsTheOfferWorkerWritesIt() {
        let expires: Int64 = 1_796_224_493
        let d: JSONObject = [
            "request_id": "6a1f", "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
            "patient_id": "pat-20931", "amount_cents": .int(50_000), "currency": "USD", "tier": "surgical",
            "reason": "deposit for surgical treatment", "link": "https://book.planrouter.dev/b/x",
            "due_by": .string(RFC3339.format(Date(timeIntervalSince1970: Double(expires)))),
        ]
        let typed = DepositRequest(
            requestID: "6a1f", organizationID: "org-brightsmile", locationID: "loc-12", planID: "tp-88412", patientID: "pat-20931",
            amountCents: 50_000, currency: "USD", tier: .surgical, reason: "deposit for surgical treatment",
            link: "https://book.planrouter.dev/b/x",
            dueBy: Date(timeIntervalSince1970: Double(expires)))
        sameBytes(typed, d, "deposit")
    }

    /// OfferHandler.insertTasks, Escalations.createTasks and LifecycleHandler.reopen build the same members in the same order.
    @Test func coordinatorTaskAsTheWorkersWriteIt() throws {
        let context: JSONObject = [
            "plan_id": "tp-88412", "appointment_id": "appt-1", "why": "the booked appointment was cancelled in the PMS",
        ]
        let d: JSONObject = [
            "task_id": .string(String(41)), "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
            "owner_id": "tc-janelle", "kind": "escalation", "urgent": true, "reason": "the booked appointment was cancelled in the PMS",
            "created_at": .string(RFC3339.format(now)), "context": .object(context),
        ]
        let typed = CoordinatorTask(
            taskID: "41", organizationID: "org-brightsmile", locationID: "loc-12", planID: "tp-88412", ownerID: "tc-janelle",
            kind: .escalation,
            urgent: true, reason: "the booked appointment was cancelled in the PMS", createdAt: now, context: context)
        sameBytes(typed, d, "task")
    }

    /// BookingService: start and end in the location's zone, procedure codes always present.
    @Test func appointmentRequestAsTheBookingServiceWritesIt() {
        for (operatory, codes) in [(Optional("op-1"), ["D6010", "D6065"]), (nil, [])] {
            let start = Date(timeIntervalSince1970: 1_796_130_000)
            let end = Date(timeIntervalSince1970: 1_796_139_000)
            var d: JSONObject = [
                "request_id": "c0ffee", "organization_id": "org-brightsmile", "location_id": "loc-12",
                "plan_id": "tp-88412", "patient_id": "pat-20931", "provider_id": "prov-okafor",
            ]
            if let op = operatory { d["operatory_id"] = .string(op) }
            d["start"] = .string(RFC3339.format(start, in: newYork))
            d["end"] = .string(RFC3339.format(end, in: newYork))
            d["procedure_codes"] = .array(codes.map(JSONValue.string))
            d["booked_via"] = "link"
            d["booked_at"] = .string(RFC3339.format(now))
            let typed = AppointmentRequest(
                requestID: "c0ffee", organizationID: "org-brightsmile", locationID: "loc-12", planID: "tp-88412", patientID: "pat-20931",
                providerID: "prov-okafor", operatoryID: operatory, start: OffsetDateTime(start, in: newYork),
                end: OffsetDateTime(end, in: newYork),
                procedureCodes: codes, bookedVia: .link, bookedAt: now)
            sameBytes(typed, d, "operatory \(operatory ?? "none")")
        }
    }
}
