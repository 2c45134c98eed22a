import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore
import Synchronization

/// The routing rules in force per organization, reloaded when a new version is loaded.
final class RulesCache: Sendable {
    private struct Loaded {
        var byOrganization: [String: (version: Int, rules: RoutingRules)] = [:]
        var fingerprint: String?
        var checkedAt: ContinuousClock.Instant?
    }
    private let loaded = Mutex(Loaded())
    let refreshInterval: Duration

    init(refreshInterval: Duration = .seconds(2)) { self.refreshInterval = refreshInterval }

    /// Reloads if the stored versions changed; checks at most once per refresh interval.
    func refreshIfNeeded(on conn: PostgresConnection) async throws {
        let now = ContinuousClock.now
        if let at = loaded.withLock({ $0.checkedAt }), now - at < refreshInterval { return }
        let current = try await RulesRepository.fingerprint(on: conn)
        if current != loaded.withLock({ $0.fingerprint }) {
            let latest = try await RulesRepository.latest(on: conn)
            loaded.withLock {
                $0.byOrganization = latest
                $0.fingerprint = current
            }
        }
        loaded.withLock { $0.checkedAt = now }
    }

    /// The organization's rules, else the fallback '*', else the shipped defaults (version 0).
    func rules(for organization: String) -> (version: Int, rules: RoutingRules) {
        loaded.withLock {
            $0.byOrganization[organization] ?? $0.byOrganization[RulesRepository.fallbackOrganization] ?? (0, RoutingRules.defaults)
        }
    }
}
