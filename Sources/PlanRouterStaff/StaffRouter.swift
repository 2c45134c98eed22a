import Foundation
import Hummingbird
import Logging
import PlanRouterBooking
import PlanRouterCore
import PlanRouterHTTP

/// Every route of the staff surface, the workspace's HTML pages included; the public surface
/// (`BookingRoutes`) never serves any of them.
public enum StaffRoutes {
    public enum Endpoint: Sendable, CaseIterable {
        case signIn, signOut, session, listTasks, resolveTask, audit, health, metrics
        case signInPage, home, workspaceQueue, workspaceCase, workspaceAction, workspaceDashboard
    }

    public typealias Route = SurfaceRoute<Endpoint>

    public static let all: [Route] = [
        Route(method: .post, path: "/signin", endpoint: .signIn),
        Route(method: .post, path: "/signout", endpoint: .signOut),
        Route(method: .get, path: "/session", endpoint: .session),
        Route(method: .get, path: "/tasks", endpoint: .listTasks),
        Route(method: .post, path: "/tasks/{id}/resolve", endpoint: .resolveTask),
        Route(method: .get, path: "/audit", endpoint: .audit),
        Route(method: .get, path: "/healthz", endpoint: .health),
        Route(method: .get, path: "/metrics", endpoint: .metrics),
        Route(method: .get, path: "/signin", endpoint: .signInPage),
        Route(method: .get, path: "/", endpoint: .home),
        Route(method: .get, path: "/workspace", endpoint: .workspaceQueue),
        Route(method: .get, path: "/workspace/dashboard", endpoint: .workspaceDashboard),
        Route(method: .get, path: "/workspace/tasks/{id}", endpoint: .workspaceCase),
        Route(method: .post, path: "/workspace/tasks/{id}/{action}", endpoint: .workspaceAction),
    ]
}

/// The HTTP face of `StaffService`. Every endpoint but sign-in, health and metrics goes through
/// `authorized`: Origin (403), credentials (401), role (403), media type (415), CSRF for
/// sessions (403), then the organization and location scope inside the service (404).
public enum StaffRouter {
    public static func make(_ service: StaffService, metricsText: @escaping @Sendable () -> String) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: OriginCheckMiddleware(allowed: service.configuration.allowedOrigins))
        router.add(middleware: BodyLimitMiddleware(maximumBodyBytes: service.configuration.maximumBodyBytes))
        for route in StaffRoutes.all {
            router.on(
                route.routerPath, method: route.method,
                use: handler(route.endpoint, service, metricsText: metricsText))
        }
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    static func handler(_ endpoint: StaffRoutes.Endpoint, _ service: StaffService, metricsText: @escaping @Sendable () -> String) -> Handler
    {
        switch endpoint {
        case .signIn: { request, _ in await guarded(service) { try await signIn(request, service) } }
        case .signOut: { request, _ in await guarded(service) { try await signOut(request, service) } }
        case .session: { request, _ in await guarded(service) { try await session(request, service) } }
        case .listTasks: { request, _ in await guarded(service) { try await listTasks(request, service) } }
        case .resolveTask: { request, context in await guarded(service) { try await resolveTask(request, context, service) } }
        case .audit: { request, _ in await guarded(service) { try await audit(request, service) } }
        case .health:
            { _, _ in
                await service.databaseAnswers()
                    ? HTTPResponses.text(.ok, "ok\n") : HTTPResponses.text(.serviceUnavailable, "database unavailable\n")
            }
        case .metrics: { _, _ in HTTPResponses.text(.ok, metricsText(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
        case .signInPage: { _, _ in WorkspacePages.signInPage() }
        case .home: { _, _ in WorkspacePages.redirect("/workspace") }
        case .workspaceQueue: { request, _ in await guarded(service) { try await WorkspacePages.queue(request, service) } }
        case .workspaceCase:
            { request, context in await guarded(service) { try await WorkspacePages.casePage(request, context, service) } }
        case .workspaceAction:
            { request, context in await guarded(service) { try await WorkspacePages.action(request, context, service) } }
        case .workspaceDashboard: { request, _ in await guarded(service) { try await WorkspacePages.dashboard(request, service) } }
        }
    }

    /// Turns every failure into a plain 500 that names nothing (the log has the error's description).
    static func guarded(_ service: StaffService, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch let refusal as StaffRefusal { return refusal.response } catch {
            service.logger.error("staff request failed", metadata: ["error.type": "\(type(of: error))", "error.description": "\(error)"])
            return HTTPResponses.error(.internalServerError, "internal", "Something went wrong; please try again.")
        }
    }

    // MARK: The checks

    /// A request that carries a body, parsed once it passed every check.
    struct Authorized {
        var authentication: StaffAuthentication
        var requestID: String
        /// JSON or form fields (form values as strings); empty for GET.
        var body: JSONObject

        var principal: StaffPrincipal { authentication.principal }
    }

    /// Authenticates the request and checks that it may perform `action`; for POST, also its
    /// media type, its CSRF token when it rides on a session, and its body.
    static func authorized(_ request: Request, _ action: StaffAction, _ service: StaffService) async throws -> Authorized {
        guard let auth = try await authenticate(request, service) else { throw StaffRefusal.unauthenticated }
        guard auth.principal.role.allows(action) else { throw StaffRefusal.forbidden("your role may not do this") }
        var result = Authorized(authentication: auth, requestID: requestID(), body: [:])
        guard request.method == .post else { return result }
        let media = RequestMediaType(request)
        guard media == .json || (media == .form && isSession(auth)) else { throw StaffRefusal.unsupportedMediaType }
        let body = try await readBody(request, media, service)
        if case .session(let expected) = auth.credential {
            // A session rides on a cookie the browser sends by itself: prove the page sent it.
            let presented =
                request.headers[.init(StaffConfiguration.csrfHeader)!] ?? body[StaffConfiguration.csrfField]?.stringValue
            guard let presented, StaffSecret.constantTimeEquals(presented, expected) else {
                throw StaffRefusal.forbidden("missing or wrong CSRF token")
            }
        }
        result.body = body
        return result
    }

    static func isSession(_ auth: StaffAuthentication) -> Bool {
        if case .session = auth.credential { return true }
        return false
    }

    /// `Authorization: Bearer <key>` wins over a session cookie; a present but unknown bearer is
    /// refused rather than falling back to the cookie.
    static func authenticate(_ request: Request, _ service: StaffService) async throws -> StaffAuthentication? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return try await service.authenticate(bearer: String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        guard let cookie = request.cookies[StaffConfiguration.sessionCookie]?.value else { return nil }
        return try await service.authenticate(sessionCookie: cookie)
    }

    static func readBody(_ request: Request, _ media: RequestMediaType, _ service: StaffService) async throws -> JSONObject {
        guard let buffer = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes) else {
            throw StaffRefusal.badRequest("the request body is unreadable or too large")
        }
        let text = String(buffer: buffer)
        switch media {
        case .json:
            guard let object = (try? JSONParser.parse(text))?.objectValue else {
                throw StaffRefusal.badRequest("the body must be a JSON object")
            }
            return object
        default:
            var object = JSONObject()
            for (name, value) in FormFields.parse(text) { object[name] = .string(value) }
            return object
        }
    }

    static func requestID() -> String { UUID().uuidString.lowercased() }

    // MARK: Sign-in

    static func signIn(_ request: Request, _ service: StaffService) async throws -> Response {
        guard RequestMediaType(request) == .form else { throw StaffRefusal.unsupportedMediaType }
        guard let buffer = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes) else {
            throw StaffRefusal.badRequest("the request body is unreadable or too large")
        }
        let fields = FormFields.parse(String(buffer: buffer))
        // The workspace's sign-in form asks to land on the queue, and to see a failure as a page.
        let fromPage = fields["redirect"] == "/workspace"
        guard let login = fields["login"], let password = fields["password"], !login.isEmpty, login.count <= 200, password.count <= 200,
            let opened = try await service.signIn(login: login, password: password, requestID: requestID())
        else {
            if fromPage { return WorkspacePages.signInPage(problem: "Wrong sign-in name or password.", status: .unauthorized) }
            return HTTPResponses.error(.unauthorized, "unauthenticated", "wrong sign-in name or password")
        }
        var response = Response(status: .seeOther, headers: HTTPResponses.headers("text/plain; charset=utf-8", private: true))
        response.headers[.location] = fromPage ? "/workspace" : "/session"
        response.setCookie(
            Cookie(
                name: StaffConfiguration.sessionCookie, value: opened.secret.text,
                maxAge: Int(service.configuration.sessionLifetime.components.seconds), path: "/",
                secure: service.configuration.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    static func signOut(_ request: Request, _ service: StaffService) async throws -> Response {
        let authorized = try await authorized(request, .listTasks, service)
        guard isSession(authorized.authentication), let cookie = request.cookies[StaffConfiguration.sessionCookie]?.value else {
            throw StaffRefusal.badRequest("only a browser session can sign out")
        }
        try await service.signOut(sessionCookie: cookie)
        var response = Response(status: .seeOther, headers: HTTPResponses.headers("text/plain; charset=utf-8", private: true))
        response.headers[.location] = authorized.body["redirect"] == "/signin" ? "/signin" : "/session"
        response.setCookie(
            Cookie(
                name: StaffConfiguration.sessionCookie, value: "", maxAge: 0, path: "/", secure: service.configuration.secureCookies,
                httpOnly: true, sameSite: .strict))
        return response
    }

    /// Who the caller is; for a session, the CSRF token its pages put in their forms.
    static func session(_ request: Request, _ service: StaffService) async throws -> Response {
        let a = try await authorized(request, .listTasks, service)
        var o: JSONObject = [
            "organization_id": .string(a.principal.organizationID), "role": .string(a.principal.role.rawValue),
            "actor": .string(a.principal.actor),
        ]
        o["locations"] = a.principal.locations.map { .array($0.sorted().map(JSONValue.string)) } ?? .null
        if case .session(let csrf) = a.authentication.credential { o["csrf_token"] = .string(csrf) }
        return HTTPResponses.json(.ok, .object(o), private: true)
    }

    // MARK: Tasks

    static func listTasks(_ request: Request, _ service: StaffService) async throws -> Response {
        let a = try await authorized(request, .listTasks, service)
        let q = request.uri.queryParameters
        func param(_ name: Substring) -> String? { q[name].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        let status = param("status") ?? "open"
        guard StaffService.TaskFilter.statuses.contains(status) else {
            throw StaffRefusal.badRequest("status must be open, resolved or cancelled")
        }
        let filter = StaffService.TaskFilter(status: status, locationID: param("location"), ownerID: param("owner"), planID: param("plan"))
        return HTTPResponses.json(.ok, .object(["tasks": .array(try await service.tasks(for: a.principal, filter))]), private: true)
    }

    static func resolveTask(_ request: Request, _ context: BasicRequestContext, _ service: StaffService) async throws -> Response {
        let a = try await authorized(request, .resolveTask, service)
        // Not a UUID: no such task (the same answer as another organization's).
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw StaffRefusal.notFound }
        guard let outcome = a.body["outcome"]?.stringValue.flatMap(TaskOutcome.init(rawValue:)) else {
            throw StaffRefusal.badRequest("outcome must be one of \(TaskOutcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let note = a.body["note"]?.stringValue
        guard a.body["note"] == nil || a.body["note"]!.isNull || (note != nil && note!.count <= 2000) else {
            throw StaffRefusal.badRequest("note must be a string of at most 2000 characters")
        }
        switch try await service.resolveTask(id, outcome: outcome, note: note, by: a.principal, requestID: a.requestID) {
        case .notFound: throw StaffRefusal.notFound
        case .notOpen: return HTTPResponses.error(.conflict, "not_open", "the task is not open")
        case .resolved(let task):
            var response = HTTPResponses.json(.ok, task, private: true)
            response.headers[.init("X-Request-ID")!] = a.requestID
            return response
        }
    }

    static func audit(_ request: Request, _ service: StaffService) async throws -> Response {
        let a = try await authorized(request, .readAudit, service)
        return HTTPResponses.json(.ok, .object(["entries": .array(try await service.audit(for: a.principal))]), private: true)
    }
}

/// A request refused before it reached the service, with its one answer.
struct StaffRefusal: Error {
    var response: Response

    static var unauthenticated: StaffRefusal {
        var r = HTTPResponses.error(.unauthorized, "unauthenticated", "send an API key (Authorization: Bearer …) or sign in")
        r.headers[.wwwAuthenticate] = "Bearer"
        return StaffRefusal(response: r)
    }
    static func forbidden(_ message: String) -> StaffRefusal {
        StaffRefusal(response: HTTPResponses.error(.forbidden, "forbidden", message))
    }
    static var unsupportedMediaType: StaffRefusal {
        StaffRefusal(response: HTTPResponses.error(.unsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json"))
    }
    static var notFound: StaffRefusal { StaffRefusal(response: HTTPResponses.error(.notFound, "not_found", "no such task")) }
    static func badRequest(_ message: String) -> StaffRefusal {
        StaffRefusal(response: HTTPResponses.error(.badRequest, "bad_request", message))
    }
}

/// Refuses (403) a request whose `Origin` is present and not one of the staff origins: a page of
/// another site may make a browser send requests here, and the browser always names that site.
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowed: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let origin = request.headers[.origin], !allowed.contains(origin.lowercased()) {
            return HTTPResponses.error(.forbidden, "forbidden_origin", "requests from this origin are not accepted")
        }
        return try await next(request, context)
    }
}

/// The staff surface's HTTP server; a `Service` to run in a `ServiceGroup`.
public enum StaffServer {
    public static func application(
        _ service: StaffService, host: String, port: Int, limits: HTTPLimits, metricsText: @escaping @Sendable () -> String, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        HTTPSurfaceServer.application(
            responder: StaffRouter.make(service, metricsText: metricsText).buildResponder(), host: host, port: port, limits: limits,
            logger: logger)
    }
}
