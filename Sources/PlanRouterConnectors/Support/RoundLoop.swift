import Logging
import PlanRouterWorkers
import ServiceLifecycle

/// The loop of the connectors' table-polling services (write-back workers, NexHealth intake):
/// rounds until shutdown; a round that found nothing waits `idle`, a failed one (an HTTP error,
/// the database gone) is logged and retried with backoff, so one bad round never stops the service.
enum RoundLoop {
    static func run(name: String, idle: Duration, logger: Logger, round: @escaping @Sendable () async throws -> Int) async throws {
        try await cancelWhenGracefulShutdown {
            var backoff = Backoff()
            while !Task.isCancelled {
                do {
                    let done = try await round()
                    backoff.reset()
                    if done == 0 { try await Task.sleep(for: idle) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("\(name) round failed", metadata: ["error": "\(error)"])
                    try await Task.sleep(for: backoff.next())
                }
            }
        }
    }
}
