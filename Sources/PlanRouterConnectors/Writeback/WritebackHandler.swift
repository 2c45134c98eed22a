import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers

/// The consuming half of the PMS write-back (consumer group `planrouter-connector-opendental`):
/// each pms.appointment-requests request becomes one `pms_writebacks` row in the transaction
/// that records its event id in the inbox, so a request delivered twice is written once.
/// `WritebackWorker` then makes the appointment in the PMS.
public struct WritebackHandler: EventHandler {
    public let consumerName: String
    public let eventTypes: Set<EventType> = [.appointmentRequests]
    public var topicTypes: [String: Set<EventType>] { topics.carrying(eventTypes) }
    let topics: TopicNames
    /// The connector and office (Open Dental office id, NexHealth subdomain) serving each (organization, location).
    let offices: [LocationKey: Target]

    struct Target: Hashable {
        var connector: String
        var officeID: String
    }

    struct LocationKey: Hashable {
        var organizationID: String
        var locationID: String
    }

    public init(consumerName: String, offices: [OpenDentalOffice], topics: TopicNames = .init(), connector: String = "opendental") {
        self.consumerName = consumerName
        self.topics = topics
        var map: [LocationKey: Target] = [:]
        for o in offices {
            for l in o.locations {
                map[LocationKey(organizationID: o.organizationID, locationID: l)] = Target(connector: connector, officeID: o.id)
            }
        }
        self.offices = map
    }

    /// The write-back of locations connected through NexHealth (`planrouter connector nexhealth`).
    public init(consumerName: String, nexhealth: NexHealthAccount, topics: TopicNames = .init()) {
        self.consumerName = consumerName
        self.topics = topics
        var map: [LocationKey: Target] = [:]
        for i in nexhealth.institutions {
            for l in i.locations.values {
                map[LocationKey(organizationID: i.organizationID, locationID: l)] = Target(connector: "nexhealth", officeID: i.subdomain)
            }
        }
        self.offices = map
    }

    public func apply(
        _ events: [IncomingEvent], in tx: PostgresConnection, outbox: inout OutboxBatch, now: Date, logger: Logger
    ) async throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var items: [NewWriteback] = []
        for e in events {
            do {
                let r = try e.decode(AppointmentRequest.self).data
                guard let office = offices[LocationKey(organizationID: r.organizationID, locationID: r.locationID)] else {
                    // One consumer group shares one offices file: a location no office serves is a configuration gap.
                    letters.append(
                        DeadLetter(
                            message: e.message, kind: "no_office",
                            reason: "no office of this connector serves location \(r.locationID)"))
                    continue
                }
                items.append(NewWriteback(request: r, eventID: e.event.id, connector: office.connector, officeID: office.officeID))
            } catch { letters.append(DeadLetter(message: e.message, rejection: error)) }
        }
        try await WritebacksRepository.record(items, now: now, on: tx)
        return letters
    }
}
