/// Kinds of coordinator tasks (`coordinator_tasks.kind`, the `kind` of coordinator.tasks events).
public enum TaskKind: String, Sendable, Hashable, CaseIterable {
    /// The ladder's last step, or a booked appointment cancelled in the PMS.
    case escalation
    /// The case's path is callback: no channel with consent.
    case callback
    /// The patient is still in the office: book one of today's openings.
    case sameVisit = "same_visit"
    /// No opening could be held for the case in the horizon.
    case noAvailability = "no_availability"
    /// The stalled-case watchdog: accepted, yet no offer and no task after the bound.
    case routingStalled = "routing_stalled"
    /// A booking whose deposit was paid was cancelled: refunds are manual (docs/payments.md).
    case depositRefund = "deposit_refund"
    /// A deposit was paid but its provisional booking could not be confirmed (the time was gone).
    case depositUnconfirmed = "deposit_unconfirmed"
    /// The patient texted something other than a keyword or an opening's number.
    case patientReply = "patient_reply"
}

/// Status of a coordinator task (`coordinator_tasks.status`).
public enum TaskStatus: String, Sendable, Hashable, CaseIterable {
    case open
    case resolved
    case cancelled
}

/// Status of a durable timer (`timers.status`).
public enum TimerStatus: String, Sendable, Hashable, CaseIterable {
    case pending
    case done
    case cancelled
}

/// The ladder step a timer fires (`timers.payload->>'action'`); defined with the rules.
public typealias LadderAction = RoutingRules.LadderAction
