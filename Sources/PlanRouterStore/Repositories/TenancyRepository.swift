import PlanRouterPostgres

/// The row-level-security scope of a transaction (`planrouter.organization`).
public enum TenancyRepository {
    /// Scopes the rest of the transaction (`set_config(…, true)` is `SET LOCAL`): one statement,
    /// the first of a per-organization transaction.
    public static func scope(_ scope: TenantScope, on tx: PostgresConnection) async throws {
        _ = try await tx.query("SELECT set_config($1, $2, true)", TenantScope.setting, scope.value)
    }
}
