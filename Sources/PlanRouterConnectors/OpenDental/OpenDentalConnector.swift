import Foundation
import Logging
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import PlanRouterWorkers
import ServiceLifecycle

/// `planrouter connector opendental`: one loop per office, all in one process. An office
/// that fails (401/403, 429, 5xx, a lost connection) backs off on its own; the others carry on.
public final class OpenDentalConnector: Service {
    public let pollers: [OfficePoller]
    let pool: PostgresPool
    let clock: any PlanRouterClock
    public let health: ConnectorHealth
    let logger: Logger

    public init(pollers: [OfficePoller], pool: PostgresPool, clock: any PlanRouterClock, health: ConnectorHealth, logger: Logger) {
        self.pollers = pollers
        self.pool = pool
        self.clock = clock
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        logger.info("connector started", metadata: ["connector.offices": "\(pollers.count)"])
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for p in self.pollers { group.addTask { await self.loop(p) } }
                group.addTask { await self.pruneProducedIds() }
            }
        }
        logger.info("connector stopped")
    }

    /// Produced ids are needed only as long as a poll can read their records again: an hour
    /// behind the watermark, or the initial look-back after a watermark reset. Hourly, ids older
    /// than the longest look-back plus a week are deleted.
    func pruneProducedIds() async {
        let keepDays = (pollers.map(\.office.initialLookbackDays).max() ?? 30) + 7
        while !Task.isCancelled {
            do {
                let cutoff = try await clock.now().addingTimeInterval(-Double(keepDays) * 86_400)
                let n = try await pool.withConnection { try await ConnectorStateRepository.pruneProduced(before: cutoff, on: $0) }
                if n > 0 { logger.debug("pruned produced ids", metadata: ["count": "\(n)"]) }
            } catch {
                logger.warning("could not prune produced ids", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .seconds(3600)) } catch { return }
        }
    }

    /// Polls one office forever: changes every `pollInterval`, reference data every `referenceInterval`.
    func loop(_ p: OfficePoller) async {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(300))
        var referenceDue = ContinuousClock.now
        while !Task.isCancelled {
            let wait: Duration
            do {
                var events = 0
                if ContinuousClock.now >= referenceDue {
                    events += try await p.pollReference().events
                    referenceDue = ContinuousClock.now + p.office.referenceInterval
                }
                events += try await p.pollChanges().events
                health.recordEvents(p.office.id, events)
                await record(p, healthy: true, error: nil)
                backoff.reset()
                wait = p.office.pollInterval
            } catch let e as OpenDentalError {
                wait = await failed(p, e, backoff: &backoff)
            } catch is CancellationError {
                return
            } catch {
                // PostgreSQL unavailable and the like: nothing was committed; retry from the same watermarks.
                health.recordFailure(p.office.id, kind: "database")
                logger.warning("office poll failed", metadata: ["connector.office": "\(p.office.id)", "error": "\(error)"])
                wait = backoff.next()
            }
            do { try await Task.sleep(for: wait) } catch { return }
        }
    }

    /// How long to wait after a failed poll, and the office's health.
    func failed(_ p: OfficePoller, _ e: OpenDentalError, backoff: inout Backoff) async -> Duration {
        let office = p.office.id
        switch e.kind {
        case .unauthorized:
            health.recordFailure(office, kind: "unauthorized")
            if health.isHealthy(office) {
                logger.error(
                    "office unhealthy: the PMS refused the keys",
                    metadata: ["connector.office": "\(office)", "http.status": "\(e.status ?? 0)"])
            }
            await record(p, healthy: false, error: "HTTP \(e.status ?? 0): customer key refused (disabled, wrong, or missing a permission)")
            return backoff.next()
        case .rateLimited(let after):
            health.recordFailure(office, kind: "rate_limited")
            let base = after ?? backoff.next()
            // Jitter so offices limited together do not return together.
            return base + .milliseconds(Int64.random(in: 0...max(1, base.components.seconds * 250)))
        case .transient, .malformed, .refused:
            health.recordFailure(office, kind: e.kind == .transient ? "transient" : "refused")
            logger.warning("office poll failed; backing off", metadata: ["connector.office": "\(office)", "error": "\(e)"])
            return backoff.next()
        }
    }

    func record(_ p: OfficePoller, healthy: Bool, error: String?) async {
        let changed = health.isHealthy(p.office.id) != healthy
        health.set(p.office.id, healthy: healthy, reason: error)
        if changed && healthy { logger.notice("office healthy again", metadata: ["connector.office": "\(p.office.id)"]) }
        do {
            let now = try await clock.now()
            try await pool.withConnection {
                try await ConnectorStateRepository.recordHealth(p.key, healthy: healthy, error: error, now: now, on: $0)
            }
        } catch {
            logger.warning("could not record office health", metadata: ["connector.office": "\(p.office.id)", "error": "\(error)"])
        }
    }
}
