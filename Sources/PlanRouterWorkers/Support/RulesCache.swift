import Foundation
import PlanRouterCore
import PlanRouterPostgres
import PlanRouterStore

/// The routing rules in force per organization, reloaded when a new version is loaded.
final class RulesCache: @unchecked Sendable {
    private let lock = NSLock()
    private var byOrganization: [String: (version: Int, rules: RoutingRules)] = [:]
    private var fingerprint: String?
    private var checkedAt: ContinuousClock.Instant?
    let refreshInterval: Duration

    init(refreshInterval: Duration = .seconds(2)) { self.refreshInterval = refreshInterval }

    /// Reloads if the stored versions changed; checks at most once per refresh interval.
    func refreshIfNeeded(on conn: PostgresConnection) async throws {
        let now = ContinuousClock.now
        if let at = lock.withLock({ checkedAt }), now - at < refreshInterval { return }
        let current = try await RulesRepository.fingerprint(on: conn)
        if current != lock.withLock({ fingerprint }) {
            let latest = try await RulesRepository.latest(on: conn)
            lock.withLock {
                byOrganization = latest
                fingerprint = current
            }
        }
        lock.withLock { checkedAt = now }
    }

    /// The organization's rules, else the fallback '*', else the shipped defaults (version 0).
    func rules(for organization: String) -> (version: Int, rules: RoutingRules) {
        lock.withLock {
            byOrganization[organization] ?? byOrganization[RulesRepository.fallbackOrganization] ?? (0, RoutingRules.defaults)
        }
    }
}
