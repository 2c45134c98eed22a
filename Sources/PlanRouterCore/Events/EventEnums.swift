// The closed value sets (`enum`s) of the event schemas. Raw values are the schema's
// strings; a value outside the set is rejected by the schema before decoding.

/// How a plan was accepted (`plan.accepted` `acceptance_source`).
public enum AcceptanceSource: String, Sendable, Hashable, CaseIterable {
    case chair
    case digitalConsent = "digital_consent"
    case coordinator
    case online
}

/// The patient's preferred channel (`plan.accepted` `patient.preferred_channel`).
public enum PreferredChannel: String, Sendable, Hashable, CaseIterable {
    case sms, email, phone, none
}

/// The code system of a procedure code (`code_system`; absent means `cdt`).
public enum CodeSystem: String, Sendable, Hashable, CaseIterable {
    /// An ADA CDT code, `D[0-9]{4}`.
    case cdt
    /// A practice's own service code (medspa), e.g. `BOTOX-20U`.
    case service
}

/// Provider roles (`provider_role` of procedures and `plan.classified`, `roles` of `schedule.changed`).
public enum ProviderRole: String, Sendable, Hashable, CaseIterable {
    case dentist, hygienist
    case oralSurgeon = "oral_surgeon"
    case periodontist, endodontist, orthodontist, prosthodontist, injector, aesthetician
    /// No particular role.
    case any
}

/// A day of the week as patients' preferences name it (`patient.preferences.weekdays`).
public enum Weekday: String, Sendable, Hashable, CaseIterable {
    case mon, tue, wed, thu, fri, sat, sun

    /// ISO 8601 weekday number: Monday 1 … Sunday 7 (what `SlotRequest.weekdays` takes).
    public var isoNumber: Int {
        switch self {
        case .mon: 1
        case .tue: 2
        case .wed: 3
        case .thu: 4
        case .fri: 5
        case .sat: 6
        case .sun: 7
        }
    }
}

/// What happened to a plan (`plan.changed` `change`).
public enum PlanChange: String, Sendable, Hashable, CaseIterable {
    case declined, cancelled, modified
    case acceptanceRevoked = "acceptance_revoked"
}

/// An appointment's state in the PMS (`appointment.changed` `status`).
public enum AppointmentStatus: String, Sendable, Hashable, CaseIterable {
    case scheduled, cancelled, completed
    /// A no-show or broken appointment.
    case broken
}

/// The channel a patient message goes out on (`patient.messages` `channel`).
public enum MessageChannel: String, Sendable, Hashable, CaseIterable {
    case sms, email
}

/// What a patient message is (`patient.messages` `kind`).
public enum MessageKind: String, Sendable, Hashable, CaseIterable {
    case offer, nudge
    case sameVisit = "same_visit"
    /// A re-offer: the time offered earlier is no longer available (the PMS schedule or an
    /// appointment changed); the message carries new openings.
    case openingWithdrawn = "opening_withdrawn"
    /// About a deposit: the payment link, or a provisional booking released for want of it.
    case deposit
    /// A booking's confirmation: the time, place and a calendar link (email: an .ics attachment).
    /// Sent although the case is booked (every other kind is cancelled once it is).
    case confirmation
}

/// Who booked an appointment through PlanRouter (`pms.appointment-requests` `booked_via`).
public enum BookedVia: String, Sendable, Hashable, CaseIterable {
    case link, coordinator
    case frontDesk = "front_desk"
}

/// (`plan.accepted` `visit.kind`) Whether a later visit continues the treatment (`staged`, e.g. an implant's crown after healing) or
/// brings the patient back for maintenance (`recall`, e.g. periodontal maintenance after scaling).
public enum VisitKind: String, Sendable, Hashable, CaseIterable {
    case staged, recall
}
