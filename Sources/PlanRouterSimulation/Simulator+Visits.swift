import Foundation
import PlanRouterCore
import PlanRouterStore

/// Appointments kept and the visits they lead to: when a booked appointment's start passes on the
/// simulated clock the patient shows (`show_rate`) and the PMS reports it completed, or does not and
/// the PMS reports it broken (the lifecycle re-opens the case to a coordinator); a plan split into
/// visits then has its next visit routed by the cluster as a follow-up case, which the simulated
/// patient treats like a first offer (docs/simulation.md).
struct VisitState {
    /// Booked appointments already decided (completed, or a no-show left as it is), by reservation id.
    var decided: Set<Int64> = []
    /// Follow-up cases the simulator knows as acceptances of their own.
    var followUps: Set<String> = []
}

extension Simulator {
    /// Reports the appointments that started by `now`: completed when the patient shows up (`show_rate`),
    /// else broken (a no-show). With `--pms events` the simulated PMS publishes `appointment.changed`
    /// completed or broken. With `--pms opendental` the front desk sets the emulator's appointment
    /// Complete or Broken, and the connector reports it.
    func completeStartedAppointments(now: Date) async throws {
        let organization = model.organizationID
        let started = try await pool.withConnection {
            try await SimulationVisitsRepository.started(organizationID: organization, now: now, on: $0)
        }
        var changes: [CloudEvent] = []
        for a in started where visits.decided.insert(a.reservationID).inserted {
            guard let patient = a.patientID ?? acceptances[a.planID]?.patientID else { continue }
            let shows = chance(model.showRate)
            counters[shows ? "completed" : "no_show", default: 0] += 1
            if settings.pms == .openDental {
                try await setInPractice(locationID: a.locationID, appointmentID: a.appointmentID, shows ? "complete" : "break")
                continue
            }
            changes.append(
                CloudEvent(
                    id: "sim-\(shows ? "completed" : "no-show")-\(a.reservationID)", source: "simulator/pms", time: now,
                    data: AppointmentChanged(
                        organizationID: organization, locationID: a.locationID,
                        appointmentID: a.appointmentID ?? "sim-apt-\(a.reservationID)", changedAt: now,
                        status: shows ? .completed : .broken,
                        patientID: patient, providerID: a.providerID, start: a.start, lengthMinutes: a.minutes, planID: a.planID)))
        }
        guard !changes.isEmpty else { return }
        try await publish(changes, type: .appointmentChanged)
        published.offerInputs += changes.count
        published.lifecycleInputs += changes.count
    }

    /// The Open Dental appointment `<office>-apt-<AptNum>` set Complete (`complete`) or Broken (`break`) in the emulator.
    func setInPractice(locationID: String, appointmentID: String?, _ action: String) async throws {
        guard let office = practice.offices[locationID], let id = appointmentID, let range = id.range(of: "-apt-", options: .backwards),
            let aptNum = Int64(id[range.upperBound...])
        else { return }
        _ = try await openDental.practice(office.customerKey, [.object(["do": .string(action), "apt_num": .int(aptNum)])])
        practice.dirty.insert(locationID)
    }

    /// Makes each newly routed follow-up case an acceptance of the simulation: the parent's patient,
    /// tier and provider, accepted when routed; the patient's texts and emails now concern it.
    func adoptFollowUps() async throws {
        let organization = model.organizationID
        let routed = try await pool.withConnection {
            try await SimulationVisitsRepository.followUps(organizationID: organization, on: $0)
        }
        for f in routed where !visits.followUps.contains(f.followUpPlanID) {
            // With --pms opendental the parent is the connector's plan id; the simulator knows it by its own.
            guard var a = acceptances[f.parentPlanID] ?? acceptances[practice.simulatorPlan[f.parentPlanID] ?? f.parentPlanID] else {
                continue
            }
            visits.followUps.insert(f.followUpPlanID)
            let parent = a.planID
            a.planID = f.followUpPlanID
            a.at = f.acceptedAt
            acceptances[f.followUpPlanID] = a
            fillContacts()
            for (contact, plan) in patients.contacts where plan == parent { patients.contacts[contact] = f.followUpPlanID }
        }
    }
}
