import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import ServiceLifecycle

/// The loop of a table-polling service (the notify sender, the deposit sessions): one round at a
/// time until shutdown; a full round goes again at once, a partial one waits `pollInterval`;
/// transient database errors and a clock not readable yet are retried with backoff; any other
/// error ends the loop (and the service) with it.
enum PollingLoop {
    static func run(
        name: String, batchSize: Int, pollInterval: Duration, logger: Logger, onTransient: (PostgresError) -> Void = { _ in },
        round: () async throws -> Int
    ) async throws {
        var backoff = Backoff()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let handled = try await round()
                backoff.reset()
                if handled < batchSize { try await Task.sleep(for: pollInterval) }
            } catch let e as PostgresError where e.isRetriable {
                onTransient(e)
                logger.warning("\(name) hit a transient database error; retrying", metadata: ["error": "\(e)"])
                try? await Task.sleep(for: backoff.next())
            } catch is CancellationError {
                break
            } catch let e as ClockError {
                logger.warning("clock not readable yet; retrying", metadata: ["error": "\(e)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }
}
