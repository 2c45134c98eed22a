import Foundation
import PlanRouterCore
import PlanRouterStore

/// Open Dental has no "accepted" plan status; acceptance is inferred (docs/connectors.md):
/// - a Saved plan with `DateTSigned` set (the patient signed the saved copy), or
/// - an Active plan with `DateTSigned` set, or
/// - an Active plan whose treatment-planned procedures are attached to a planned appointment
///   (`procedurelog.PlannedAptNum`).
/// A plan accepted before that is made Inactive or loses all its procedures (deleted) is
/// revoked; one whose procedures or fees change is modified. Pure: the poller fetches, this decides.
struct AcceptanceInference {
    let office: OpenDentalOffice

    /// Everything fetched about one plan.
    struct Snapshot {
        var plan: ODTreatPlanRecord
        var lines: [ODPlanLine]
        var patient: ODPatientRecord?
        /// The planned appointment the plan's procedures are attached to, if any.
        var planned: ODAppointmentRecord?
    }

    enum Signal {
        case accepted(PlanAccepted)
        case modified(PlanChanged)
        case revoked(PlanChanged)
    }

    struct Decision {
        var eventID: String
        var signal: Signal
        var state: ConnectorPlanState
    }

    /// The decision for one plan given what was published for it before (nil: nothing), and the
    /// procedures other accepted plans of the patient already cover (a Saved copy and its Active
    /// plan are one acceptance). nil: nothing to publish.
    func decide(_ s: Snapshot, previous: ConnectorPlanState?, covered: Set<Int64>) throws(MalformedRecord) -> Decision? {
        let plan = s.plan
        let planID = office.planID(plan.num)
        let live = s.lines.filter(\.isLive)
        let planned = plan.status == "Active" && live.contains { $0.plannedAptNum != 0 }
        let accepted = plan.status != "Inactive" && !live.isEmpty && (plan.signed != nil || planned)
        let fingerprint = live.map { "\($0.procNum):\($0.code):\($0.feeCents):\($0.patientCents ?? -1)" }.sorted().joined(separator: ",")
        let changedAt = plan.edited.instant(in: office.timeZone)

        if let previous, previous.state == .accepted {
            if !accepted {
                let reason = plan.status == "Inactive" ? "plan made Inactive in Open Dental" : "plan's procedures deleted in Open Dental"
                let change = PlanChanged(
                    organizationID: office.organizationID, locationID: previous.locationID, planID: planID, changedAt: changedAt,
                    change: .acceptanceRevoked, reason: reason)
                return Decision(
                    eventID: "\(planID)-revoked-\(plan.edited.naiveSeconds)", signal: .revoked(change),
                    state: state(plan, previous.locationID, .revoked, fingerprint, live))
            }
            guard fingerprint != previous.fingerprint else { return nil }
            let procedures = try self.procedures(live, planned: s.planned, plan: plan)
            let change = PlanChanged(
                organizationID: office.organizationID, locationID: previous.locationID, planID: planID, changedAt: changedAt,
                change: .modified, reason: "plan edited in Open Dental", procedures: procedures,
                totalFeeCents: procedures.reduce(0) { $0 + $1.feeCents }, patientPortionCents: portion(live))
            return Decision(
                eventID: "\(planID)-modified-\(plan.edited.naiveSeconds)", signal: .modified(change),
                state: state(plan, previous.locationID, .accepted, fingerprint, live))
        }

        guard accepted, !live.allSatisfy({ covered.contains($0.procNum) }) else { return nil }
        guard let patient = s.patient else { throw bad(plan, "patient not found") }
        guard
            let location = office.location(clinic: live.first?.clinicNum ?? patient.clinicNum) ?? office.location(clinic: patient.clinicNum)
        else { throw bad(plan, "its clinic is not mapped to a location") }
        let provider = Dictionary(grouping: live.map(\.provNum).filter { $0 > 0 }, by: { $0 }).max {
            ($0.value.count, -$0.key) < ($1.value.count, -$1.key)
        }?.key
        guard let provider else { throw bad(plan, "no treating provider (ProvNum)") }
        let procedures = try self.procedures(live, planned: s.planned, plan: plan)
        let acceptedAt: Date
        let via: AcceptanceSource
        if let signed = plan.signed {
            acceptedAt = signed.instant(in: office.timeZone)
            via = .chair
        } else {
            acceptedAt = (s.planned?.stamp ?? plan.edited).instant(in: office.timeZone)
            via = .coordinator
        }
        let event = PlanAccepted(
            organizationID: office.organizationID, locationID: location, planID: planID, acceptedAt: acceptedAt, acceptedVia: via,
            patient: PlanAccepted.Patient(
                id: office.patientID(patient.patNum), firstName: patient.firstName, phone: patient.phoneE164, email: patient.emailAddress,
                preferred: patient.preferredChannel, smsConsent: patient.smsConsent),
            providerID: office.providerID(provider), procedures: procedures, totalFeeCents: procedures.reduce(0) { $0 + $1.feeCents },
            patientPortionCents: portion(live))
        return Decision(
            eventID: "\(planID)-accepted-\(plan.edited.naiveSeconds)", signal: .accepted(event),
            state: state(plan, location, .accepted, fingerprint, live))
    }

    func state(
        _ plan: ODTreatPlanRecord, _ location: String, _ state: ConnectorPlanState.State, _ fingerprint: String, _ live: [ODPlanLine]
    ) -> ConnectorPlanState {
        ConnectorPlanState(
            pmsPlan: String(plan.num), planID: office.planID(plan.num), locationID: location, patient: String(plan.patNum), state: state,
            fingerprint: fingerprint, procedures: live.map { String($0.procNum) }.joined(separator: ","))
    }

    /// The patient's portion when every line carries one (Saved plans' PatAmt); nil otherwise.
    func portion(_ live: [ODPlanLine]) -> Int64? {
        let parts = live.compactMap(\.patientCents)
        return parts.count == live.count ? parts.reduce(0, +) : nil
    }

    /// The plan's procedures; chair minutes from the planned appointment's Pattern (5 minutes a
    /// character) spread over them in 5-minute units, else left to the rules' code defaults.
    func procedures(_ live: [ODPlanLine], planned: ODAppointmentRecord?, plan: ODTreatPlanRecord) throws(MalformedRecord) -> [PlanProcedure]
    {
        let units = planned.map { $0.pattern.count } ?? 0
        let each = live.isEmpty ? 0 : units / live.count
        return try live.enumerated().map { pair throws(MalformedRecord) -> PlanProcedure in
            let (i, l) = pair
            let code = l.code.uppercased()
            let cdt = code.count == 5 && code.first == "D" && code.dropFirst().allSatisfy(\.isNumber)
            guard cdt || code.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                throw bad(plan, "procedure code is neither CDT nor a service code")
            }
            let minutes = each >= 1 ? (each + (i < units % live.count ? 1 : 0)) * 5 : nil
            return PlanProcedure(
                system: cdt ? nil : .service, code: code, description: String(l.descript.prefix(200)),
                tooth: l.tooth.isEmpty ? nil : l.tooth,
                surface: l.surface.isEmpty ? nil : l.surface, feeCents: l.feeCents, minutes: minutes.map { min($0, 480) },
                role: nil)
        }
    }

    func bad(_ plan: ODTreatPlanRecord, _ reason: String) -> MalformedRecord {
        MalformedRecord(table: "treatplan", key: String(plan.num), reason: reason)
    }
}
