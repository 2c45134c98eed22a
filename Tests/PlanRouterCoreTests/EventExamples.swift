import Foundation
import PlanRouterCore

/// Realistic `data` objects of every event type with every member of the schema present
/// (docs/events.md has examples too, most without some optional members).
enum EventExamples {
    static let full: [EventType: JSONValue] = {
        var out: [EventType: JSONValue] = [:]
        for (type, text) in texts {
            do { out[type] = try JSONParser.parse(text) } catch { fatalError("EventExamples \(type.name): \(error)") }
        }
        return out
    }()

    /// The type's schema file as JSON.
    static func schema(_ type: EventType) throws -> JSONValue { try JSONParser.parse(try SchemaFiles.text(of: type.schemaFile)) }

    /// The full example with only the schema's required top-level members.
    static func minimal(_ type: EventType) throws -> JSONValue {
        let required = Set(try schema(type)["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let o = full[type]?.objectValue ?? [:]
        return .object(JSONObject(o.entries.filter { required.contains($0.key) }))
    }

    struct BadPath: Error { var path: [String] }

    /// `value` without the member at `path` (object keys and array indexes).
    static func removing(_ path: [String], from value: JSONValue) throws -> JSONValue {
        guard let head = path.first else { throw BadPath(path: path) }
        let rest = Array(path.dropFirst())
        switch value {
        case .object(var o):
            guard let child = o[head] else { throw BadPath(path: path) }
            if rest.isEmpty {
                o[head] = Optional<JSONValue>.none  // a bare nil here would be JSON null
            } else {
                o[head] = try removing(rest, from: child)
            }
            return .object(o)
        case .array(var a):
            guard let i = Int(head), a.indices.contains(i), !rest.isEmpty else { throw BadPath(path: path) }
            a[i] = try removing(rest, from: a[i])
            return .array(a)
        default:
            throw BadPath(path: path)
        }
    }

    static let texts: [EventType: String] = [
        .planAccepted: """
        {
          "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
          "accepted_at": "2026-11-30T10:14:37-05:00", "acceptance_source": "chair",
          "patient": {
            "id": "pat-20931", "first_name": "María José", "phone": "+16175550123", "email": "maria.k@example.com",
            "preferred_channel": "sms", "sms_consent": true, "email_consent": true, "still_in_office": false,
            "preferences": { "times_of_day": ["morning", "evening"], "weekdays": ["tue", "thu", "sat"] }
          },
          "provider_id": "prov-okafor", "coordinator_id": "tc-janelle",
          "procedures": [
            { "code_system": "cdt", "code": "D6010", "description": "Surgical placement of implant body: endosteal implant",
              "tooth": "30", "surface": "O", "fee_cents": 240000, "minutes": 90, "provider_role": "oral_surgeon" },
            { "code": "D6065", "description": "Implant supported porcelain/ceramic crown \\"#30\\"", "tooth": "#30", "fee_cents": 180000 }
          ],
          "total_fee_cents": 420000, "patient_portion_cents": 310000,
          "visit": { "parent_plan_id": "tp-88411", "number": 2, "of": 3, "kind": "staged" }
        }
        """,
        .planChanged: """
        {
          "organization_id": "org-glow-medspa", "location_id": "spa-austin-2", "plan_id": "order-5f1c2a9e",
          "changed_at": "2026-12-01T09:10:00.250-06:00", "change": "modified", "reason": "added the forehead lines",
          "procedures": [
            { "code_system": "service", "code": "BOTOX-40U", "description": "Botox cosmetic, 40 units", "fee_cents": 84000,
              "minutes": 45, "provider_role": "injector" },
            { "code": "D9910", "description": "Desensitizing medicament", "tooth": "UR", "surface": "B", "fee_cents": 0 }
          ],
          "total_fee_cents": 84000, "patient_portion_cents": 80000
        }
        """,
        .planPresented: """
        {
          "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412", "presented_at": "2026-11-30T09:58:10-05:00",
          "patient_id": "pat-20931", "provider_id": "prov-okafor", "coordinator_id": "tc-janelle",
          "procedures": [
            { "code_system": "cdt", "code": "D6010", "description": "Surgical placement of implant body: endosteal implant",
              "tooth": "30", "surface": "O", "fee_cents": 240000, "minutes": 90, "provider_role": "oral_surgeon" },
            { "code_system": "service", "code": "BOTOX-20U", "description": "Botox, 20 units", "fee_cents": 0, "minutes": 15 }
          ],
          "total_fee_cents": 240000, "patient_portion_cents": 180000
        }
        """,
        .planClassified: """
        {
          "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412", "patient_id": "pat-20931",
          "provider_id": "prov-okafor", "coordinator_id": "tc-janelle", "accepted_at": "2026-11-30T15:14:37Z",
          "classified_at": "2026-11-30T15:14:53.120Z", "tier": "surgical", "path": "self_book", "chair_minutes": 150,
          "value_cents": 420000, "deposit_cents": 50000, "first_offer_sla_minutes": 15, "provider_role": "oral_surgeon",
          "rules_version": 3,
          "reasons": ["D6010 in D6000-D6199 -> surgical", "D6065 in D6000-D6199 -> surgical", "path self_book: sms with consent"]
        }
        """,
        .appointmentChanged: """
        {
          "organization_id": "org-brightsmile", "location_id": "loc-12", "appointment_id": "appt-551207",
          "changed_at": "2026-12-01T10:33:22-05:00", "status": "scheduled", "patient_id": "pat-18842",
          "provider_id": "prov-lindqvist", "operatory_id": "op-3", "start": "2026-12-03T10:00:00-05:00", "length_minutes": 50,
          "pattern": "//XXXXXX//", "plan_id": "tp-88530", "procedure_codes": ["D2740", "D2950"]
        }
        """,
        .scheduleChanged: """
        {
          "organization_id": "org-brightsmile", "location_id": "loc-12", "changed_at": "2026-11-30T18:00:00-05:00",
          "time_zone": "America/New_York", "from": "2026-12-01", "to": "2026-12-02",
          "providers": [
            { "id": "prov-okafor", "roles": ["dentist", "oral_surgeon"], "operatory_ids": ["op-1", "op-2"] },
            { "id": "prov-hyg-ramos", "roles": ["hygienist"] },
            { "id": "prov-lindqvist" }
          ],
          "blocks": [
            { "provider_id": "prov-okafor", "start": "2026-12-01T08:00:00-05:00", "end": "2026-12-01T12:00:00-05:00" },
            { "provider_id": "prov-lindqvist", "start": "2026-12-01T09:00:00-05:00", "end": "2026-12-01T17:00:00-05:00",
              "operatory_ids": ["op-3"] },
            { "provider_id": "prov-hyg-ramos", "start": "2026-12-02T12:30:00Z", "end": "2026-12-02T20:30:00Z",
              "operatory_ids": ["op-4", "op-5"] }
          ],
          "blockouts": [
            { "start": "2026-12-01T12:00:00-05:00", "end": "2026-12-01T13:00:00-05:00", "type": "do_not_schedule" },
            { "start": "2026-12-02T09:00:00-05:00", "end": "2026-12-02T11:00:00-05:00", "type": "crown_only",
              "provider_id": "prov-lindqvist", "operatory_ids": ["op-3"] }
          ]
        }
        """,
        .patientMessages: """
        {
          "message_id": "4f9c1e1a-0b7e-4f4e-9a51-3c2d7c1d8e20", "organization_id": "org-brightsmile", "location_id": "loc-12",
          "plan_id": "tp-88530", "patient_id": "pat-18842", "channel": "email", "to": "dev.patel@example.com", "kind": "offer",
          "subject": "Your crown at BrightSmile Back Bay",
          "body": "Hi Dev,\\nyour crown is ready to book: Thu Mar 12, 9:00 AM; Mon Mar 16, 2:30 PM.\\nBook here: https://book.planrouter.dev/b/x.y",
          "link": "https://book.planrouter.dev/b/x.y",
          "openings": [
            { "start": "2026-03-12T09:00:00-04:00", "end": "2026-03-12T10:00:00-04:00", "provider_id": "prov-lindqvist",
              "operatory_id": "op-3", "local_time": "Thu Mar 12, 9:00 AM" },
            { "start": "2026-03-06T14:30:00-05:00", "end": "2026-03-06T15:30:00-05:00", "provider_id": "prov-lindqvist" }
          ],
          "send_after": "2026-03-01T13:00:00Z", "offer_id": 88530,
          "calendar": "BEGIN:VCALENDAR\\r\\nVERSION:2.0\\r\\nBEGIN:VEVENT\\r\\nUID:booking-88213@planrouter\\r\\nEND:VEVENT\\r\\nEND:VCALENDAR\\r\\n"
        }
        """,
        .depositRequests: """
        {
          "request_id": "dep-tp-88412-1", "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
          "patient_id": "pat-20931", "amount_cents": 50000, "currency": "USD", "tier": "surgical",
          "reason": "deposit for surgical treatment", "link": "https://book.planrouter.dev/b/eyJvIjoib2ZyLTkxMjIifQ.k3Jd9xQ",
          "due_by": "2026-12-02T15:14:55Z", "policy": "deposit_to_confirm", "reservation_id": 88213
        }
        """,
        .coordinatorTasks: """
        {
          "task_id": "41", "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
          "owner_id": "tc-janelle", "kind": "escalation", "urgent": true,
          "reason": "no booking 72 h after acceptance; 2 nudge(s) sent", "created_at": "2026-12-03T15:14:53Z",
          "due_at": "2026-12-03T17:14:53Z",
          "context": { "tier": "surgical", "value_cents": 420000, "deposit": { "cents": 50000, "status": "requested" },
                       "procedures": [{ "code": "D6010", "tooth": "30" }], "sms_consent": true, "last_offer_at": null }
        }
        """,
        .appointmentRequests: """
        {
          "request_id": "apptreq-tp-88412-1", "organization_id": "org-brightsmile", "location_id": "loc-12", "plan_id": "tp-88412",
          "patient_id": "pat-20931", "provider_id": "prov-okafor", "operatory_id": "op-1",
          "start": "2026-12-01T08:00:00-05:00", "end": "2026-12-01T10:30:00-05:00", "procedure_codes": ["D6010", "D6065"],
          "booked_via": "front_desk", "booked_at": "2026-11-30T16:02:40Z", "replaces_request_id": "apptreq-tp-88412-0"
        }
        """,
    ]
}
