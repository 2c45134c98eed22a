import PlanRouterPostgres

/// The row-level-security scope of a transaction (`planrouter.organization`).
public enum TenancyRepository {
    /// Scopes the rest of the transaction (`set_config(…, true)` is `SET LOCAL`): one statement,
    /// the first of a per-organization transaction.
    public static func scope(_ scope: TenantScope, on tx: PostgresConnection) async throws {
        _ = try await tx.query("SELECT set_config($1, $2, true)", TenantScope.setting, scope.value)
    }
}

extension PostgresPool {
    /// A transaction whose first statement sets its row-level-security scope: the one way the
    /// per-organization paths (booking links, staff, webhooks) open a transaction, so none forgets it.
    public func withTransaction<T: Sendable>(
        scopedTo scope: TenantScope, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withTransaction { tx in
            try await TenancyRepository.scope(scope, on: tx)
            return try await body(tx)
        }
    }
}
