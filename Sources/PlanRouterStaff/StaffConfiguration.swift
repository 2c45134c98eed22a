import Foundation
import PlanRouterCore
import PlanRouterHTTP

/// Settings of the staff surface.
public struct StaffConfiguration: Sendable {
    /// Origins (`scheme://host[:port]`) a browser may send staff requests from. A request that
    /// carries an `Origin` header not in this set is refused (403), whatever its credentials.
    /// Requests without `Origin` (API clients, same-origin GETs) are not affected. Default: none.
    public var allowedOrigins: Set<String> = []
    /// How long a browser session lasts after sign-in. Default: 8 hours (a working day).
    public var sessionLifetime: Duration = .seconds(8 * 3600)
    /// Whether the session cookie carries `Secure` (sent over HTTPS only). Turn off only for a
    /// plain-HTTP development setup on loopback. Default: true.
    public var secureCookies: Bool = true
    /// Most tasks `GET /tasks` returns. Default: 500.
    public var maximumTasks: Int = 500
    /// Most audit entries `GET /audit` returns. Default: 200.
    public var maximumAuditEntries: Int = 200
    /// Largest request body read. Default: 16 KiB.
    public var maximumBodyBytes: Int = 16 * 1024
    /// bcrypt cost of passwords set through the service (`staff add-user`). Default: 12.
    public var bcryptCost: UInt8 = 12
    /// Bearer tokens (JWT) from the organization's identity provider, when configured
    /// (`serve --staff-oidc`). Default: none (API keys and sessions only).
    public var tokenVerifier: StaffTokenVerifier?

    public init() {}

    public static let sessionCookie = "planrouter_session"
    public static let csrfHeader = "X-CSRF-Token"
    public static let csrfField = "csrf_token"
}
