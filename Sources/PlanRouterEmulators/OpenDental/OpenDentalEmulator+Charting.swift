import Foundation
import PlanRouterCore

/// The office-side edits the public methods (one lock each) and the bulk seeding (one lock for
/// a thousand plans: a copy of an office per edit would make seeding quadratic) share.
extension OpenDentalEmulator.Office {
    mutating func addPatient(
        lName: String, fName: String, wirelessPhone: String, email: String, txtMsgOk: String, preferContactMethod: String,
        clinicNum: Int64, now: Date
    ) -> Int64 {
        let n = number()
        patients[n] = ODPatient(
            patNum: n, lName: lName, fName: fName, wirelessPhone: wirelessPhone, email: email, txtMsgOk: txtMsgOk,
            preferContactMethod: preferContactMethod, clinicNum: clinicNum, dateTStamp: now)
        return n
    }

    mutating func presentPlan(
        patNum: Int64, provNum: Int64, procedures: [OpenDentalEmulator.PlannedProcedure], clinicNum: Int64, now: Date
    ) -> (treatPlanNum: Int64, procNums: [Int64]) {
        let plan = number()
        treatPlans[plan] = ODTreatPlan(
            treatPlanNum: plan, patNum: patNum, heading: "Active Treatment Plan", tpStatus: "Active", secDateTEdit: now)
        var nums: [Int64] = []
        for p in procedures {
            let n = number()
            self.procedures[n] = ODProcedure(
                procNum: n, patNum: patNum, procCode: p.code, descript: p.descript, procFee: p.fee, provNum: provNum, toothNum: p.toothNum,
                clinicNum: clinicNum, dateTStamp: now)
            let a = number()
            attaches[a] = ODTreatPlanAttach(treatPlanAttachNum: a, treatPlanNum: plan, procNum: n)
            nums.append(n)
        }
        return (plan, nums)
    }

    mutating func signPlan(_ treatPlanNum: Int64, saved: Bool, patAmts: [Double], now: Date) throws -> Int64 {
        guard let plan = treatPlans[treatPlanNum] else { throw OpenDentalEmulatorError("no plan \(treatPlanNum)") }
        guard saved else {
            treatPlans[treatPlanNum]?.dateTSigned = now
            treatPlans[treatPlanNum]?.secDateTEdit = now
            return treatPlanNum
        }
        let copy = number()
        treatPlans[copy] = ODTreatPlan(
            treatPlanNum: copy, patNum: plan.patNum, heading: "Saved Treatment Plan", tpStatus: "Saved", secDateTEdit: now,
            dateTSigned: now)
        let procs = attaches.values.filter { $0.treatPlanNum == treatPlanNum }.sorted {
            $0.treatPlanAttachNum < $1.treatPlanAttachNum
        }
        .compactMap { procedures[$0.procNum] }
        for (i, p) in procs.enumerated() {
            let n = number()
            let pat = i < patAmts.count ? patAmts[i] : 0
            procTPs[n] = ODProcTP(
                procTPNum: n, treatPlanNum: copy, patNum: p.patNum, procNumOrig: p.procNum, itemOrder: Int64(i), toothNumTP: p.toothNum,
                surf: p.surf, procCode: p.procCode, descript: p.descript, feeAmt: p.procFee, priInsAmt: max(0, p.procFee - pat),
                patAmt: pat, provNum: p.provNum, clinicNum: p.clinicNum, secDateTEdit: now)
        }
        return copy
    }
}
