import Foundation
import PlanRouterCore
import PlanRouterPostgres

/// Ends what a case has running when it is booked, closed or starts over: its holds are
/// released (and their locations' calendars marked changed, so offer workers reload
/// them), its pending ladder timers and its open coordinator tasks are cancelled.
/// One place for the classifier (re-classification), the lifecycle consumer and the
/// booking service.
public enum CaseWithdrawal {
    public static func withdraw(
        _ keys: [PlanKey], holdReason: String, taskOutcome: String, exceptTask: Int64? = nil, now: Date, on tx: PostgresConnection
    ) async throws {
        guard !keys.isEmpty else { return }
        // Lock order (CaseLockRepository): case, then location, then its reservations.
        try await CaseLockRepository.lockHoldLocations(
            organizations: keys.map(\.organizationID), plans: keys.map(\.planID), on: tx)
        let released = try await ReservationsRepository.releaseHolds(of: keys, reason: holdReason, now: now, on: tx)
        try await LocationsRepository.bumpCalendars(Array(Set(released)), on: tx)
        try await TimersRepository.cancelPending(keys, on: tx)
        try await TasksRepository.cancelOpen(keys, outcome: taskOutcome, exceptTask: exceptTask, now: now, on: tx)
    }
}
