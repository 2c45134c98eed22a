/// When a tier's deposit is asked for, relative to the booking (`deposit.policy` in the rules).
public enum DepositPolicy: String, Sendable, Hashable, CaseIterable {
    /// Picking an opening makes a provisional booking whose hold is kept for `deposit.hold`;
    /// the payment confirms it (and only then is the PMS write-back published).
    case depositToConfirm = "deposit_to_confirm"
    /// The booking is confirmed at once; the deposit is requested after it.
    case depositAfterBooking = "deposit_after_booking"
}

/// Status of a deposit (`deposits.status`).
public enum DepositStatus: String, Sendable, Hashable, CaseIterable {
    case requested
    case paid
    case expired
    case refunded
}
