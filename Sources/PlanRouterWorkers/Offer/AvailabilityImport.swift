import Foundation
import Logging
import PlanRouterCore
import PlanRouterKafka
import PlanRouterPostgres
import PlanRouterStore

/// The first sync of a location's calendars: schedule.changed and appointment.changed
/// events applied straight to PostgreSQL in batches, without going through Kafka.
public struct AvailabilityImport: Sendable {
    public struct Summary: Sendable {
        public var schedules = 0
        public var appointments = 0
        public var rejected = 0
        public init() {}
    }

    let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// Applies validated events in one transaction; rejected ones are returned with their reason.
    public func apply(_ events: [CloudEvent], now: Date) async throws -> (Summary, [(Int, String)]) {
        var summary = Summary()
        var rejected: [(Int, String)] = []
        try await pool.withTransaction { tx in
            // The mirror works on incoming events; an import has no Kafka position.
            let incoming = events.enumerated().map { i, e in
                IncomingEvent(
                    event: e,
                    message: KafkaMessage(topic: "import", partition: 0, offset: Int64(i), key: nil, value: [], headers: [], timestamp: nil)
                )
            }
            for e in incoming where e.event.type == .scheduleChanged {
                do {
                    _ = try await AvailabilityMirror.applySchedule(e, in: tx, now: now)
                    summary.schedules += 1
                } catch let r as EventRejection {
                    rejected.append((Int(e.message.offset), r.description))
                }
            }
            let appointments = incoming.filter { $0.event.type == .appointmentChanged }
            let (letters, _) = try await AvailabilityMirror.applyAppointments(appointments, in: tx, now: now)
            summary.appointments = appointments.count - letters.count
            rejected += letters.map { (Int($0.message.offset), $0.reason) }
        }
        summary.rejected = rejected.count
        return (summary, rejected)
    }
}
