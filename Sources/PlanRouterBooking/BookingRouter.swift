import Foundation
import Hummingbird
import Logging
import PlanRouterCore

/// Every route of the booking service, in one place: the router registers exactly
/// these, and a test checks `openapi/booking.yaml` against them.
public enum BookingRoutes {
    public enum Endpoint: Sendable, CaseIterable {
        case bookingPage, book, listTasks, resolveTask, health, metrics
    }

    public struct Route: Sendable, Hashable {
        public var method: HTTPRequest.Method
        /// OpenAPI style: `/book/{token}`.
        public var path: String
        public var endpoint: Endpoint
    }

    public static let all: [Route] = [
        Route(method: .get, path: "/book/{token}", endpoint: .bookingPage),
        Route(method: .post, path: "/book/{token}", endpoint: .book),
        Route(method: .get, path: "/tasks", endpoint: .listTasks),
        Route(method: .post, path: "/tasks/{id}/resolve", endpoint: .resolveTask),
        Route(method: .get, path: "/healthz", endpoint: .health),
        Route(method: .get, path: "/metrics", endpoint: .metrics),
    ]

    /// Hummingbird spells a parameter `:name`.
    static func routerPath(_ openAPIPath: String) -> String {
        openAPIPath.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : part
        }.joined(separator: "/")
    }
}

/// The HTTP face of `BookingService`.
public enum BookingRouter {
    /// `webhooks`: the providers' webhooks (Sources/PlanRouterBooking/Webhooks), when configured.
    public static func make(_ service: BookingService, webhooks: TwilioWebhooks? = nil) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // HTTP request counts and durations through swift-metrics (recorded only where the
        // process bootstrapped a metrics backend: `planrouter serve` does).
        router.add(middleware: MetricsMiddleware())
        for route in BookingRoutes.all {
            router.on(RouterPath(BookingRoutes.routerPath(route.path)), method: route.method, use: handler(route.endpoint, service))
        }
        webhooks?.register(on: router)
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    static func handler(_ endpoint: BookingRoutes.Endpoint, _ service: BookingService) -> Handler {
        switch endpoint {
        case .bookingPage: { request, context in await guarded(service) { try await bookingPage(request, context, service) } }
        case .book: { request, context in await guarded(service) { try await book(request, context, service) } }
        case .listTasks: { request, context in await guarded(service) { try await listTasks(request, context, service) } }
        case .resolveTask: { request, context in await guarded(service) { try await resolveTask(request, context, service) } }
        case .health:
            { _, _ in
                await service.databaseAnswers() ? text(.ok, "ok\n") : text(.serviceUnavailable, "database unavailable\n")
            }
        case .metrics: { _, _ in text(.ok, service.metrics.prometheusText(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
        }
    }

    /// Turns every failure into a plain 500 that names nothing; the log line carries the
    /// error's description, which by convention holds no SQL parameters or tokens.
    static func guarded(_ service: BookingService, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch {
            service.logger.error("request failed", metadata: ["error.type": "\(type(of: error))", "error.description": "\(error)"])
            return json(.internalServerError, .object(["error": "internal", "message": "Something went wrong; please try again."]))
        }
    }

    // MARK: Booking links

    static func wantsJSON(_ request: Request) -> Bool {
        if let accept = request.headers[.accept] { return accept.lowercased().contains("application/json") }
        return request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true
    }

    static func bookingPage(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let asJSON = wantsJSON(request)
        guard let token = context.parameters.get("token"), let offer = try await service.offer(token: token) else {
            return notFound(asJSON)
        }
        return asJSON ? json(.ok, BookingPages.offerJSON(offer), private: true) : html(.ok, BookingPages.offer(offer))
    }

    static func book(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let asJSON = wantsJSON(request)
        guard let token = context.parameters.get("token") else { return notFound(asJSON) }
        guard let body = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes),
            let reservationID = reservationID(in: body, contentType: request.headers[.contentType])
        else {
            return asJSON
                ? json(.badRequest, .object(["error": "bad_request", "message": "reservation_id is required"]))
                : html(.badRequest, BookingPages.page(title: "Bad request", body: "<h1>Please choose one of the times offered.</h1>"))
        }
        switch try await service.book(token: token, reservationID: reservationID) {
        case .notFound: return notFound(asJSON)
        case .conflict(let offer):
            return asJSON ? json(.conflict, BookingPages.conflictJSON(offer), private: true) : html(.conflict, BookingPages.conflict(offer))
        case .booked(let c):
            return asJSON ? json(.ok, BookingPages.bookedJSON(c), private: true) : html(.ok, BookingPages.booked(c))
        }
    }

    /// `reservation_id` from a form (`reservation_id=12`) or JSON (`{"reservation_id": 12}` or `"12"`).
    static func reservationID(in body: ByteBuffer, contentType: String?) -> Int64? {
        let text = String(buffer: body)
        if contentType?.lowercased().hasPrefix("application/json") == true {
            guard let v = try? JSONParser.parse(text), let id = v["reservation_id"] else { return nil }
            return id.int64Value ?? id.stringValue.flatMap { Int64($0) }
        }
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, kv[0] == "reservation_id" else { continue }
            return String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
                .flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        }
        return nil
    }

    /// One answer for forged, expired, unknown and used links alike.
    static func notFound(_ asJSON: Bool) -> Response {
        asJSON ? json(.notFound, BookingPages.notFoundJSON, private: true) : html(.notFound, BookingPages.notFound)
    }

    // MARK: Coordinator tasks

    static func listTasks(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let q = request.uri.queryParameters
        let status = q["status"].map(String.init) ?? "open"
        guard BookingService.TaskFilter.statuses.contains(status) else {
            return json(.badRequest, .object(["error": "bad_request", "message": "status must be open, resolved or cancelled"]))
        }
        let filter = BookingService.TaskFilter(
            locationID: q["location"].map(String.init).flatMap { $0.isEmpty ? nil : $0 },
            ownerID: q["owner"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }, status: status)
        return json(.ok, .object(["tasks": .array(try await service.tasks(filter))]))
    }

    static func resolveTask(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap({ Int64($0) }) else { return taskNotFound }
        guard let body = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes),
            let value = try? JSONParser.parse(String(buffer: body)),
            let outcome = value["outcome"]?.stringValue.flatMap(TaskOutcome.init(rawValue:))
        else {
            return json(
                .badRequest,
                .object([
                    "error": "bad_request",
                    "message": .string("outcome must be one of \(TaskOutcome.allCases.map(\.rawValue).joined(separator: ", "))"),
                ]))
        }
        let note = value["note"]?.stringValue
        guard value["note"] == nil || value["note"]!.isNull || (note != nil && note!.count <= 2000) else {
            return json(.badRequest, .object(["error": "bad_request", "message": "note must be a string of at most 2000 characters"]))
        }
        switch try await service.resolveTask(id: id, outcome: outcome, note: note) {
        case .notFound: return taskNotFound
        case .notOpen: return json(.conflict, .object(["error": "not_open", "message": "the task is not open"]))
        case .resolved(let task): return json(.ok, task)
        }
    }

    static let taskNotFound = json(.notFound, .object(["error": "not_found", "message": "no such task"]))

    // MARK: Responses

    static func headers(_ contentType: String, private: Bool) -> HTTPFields {
        var h = HTTPFields()
        h[.contentType] = contentType
        h[.cacheControl] = "no-store"
        h[.xContentTypeOptions] = "nosniff"
        if `private` {
            // The token is in the URL: never send it on as a Referer, never let the page be framed or load anything.
            h[.init("Referrer-Policy")!] = "no-referrer"
            h[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        }
        return h
    }

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        Response(
            status: status, headers: headers("text/html; charset=utf-8", private: true), body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, private: Bool = false) -> Response {
        Response(
            status: status, headers: headers("application/json", private: `private`),
            body: .init(byteBuffer: ByteBuffer(string: value.serialized() + "\n")))
    }

    static func text(_ status: HTTPResponse.Status, _ s: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: headers(contentType, private: false), body: .init(byteBuffer: ByteBuffer(string: s)))
    }
}

/// The booking HTTP server; a `Service` to run in a `ServiceGroup`.
public enum BookingServer {
    public static func application(
        _ service: BookingService, host: String, port: Int, webhooks: TwilioWebhooks? = nil, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: BookingRouter.make(service, webhooks: webhooks),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            logger: logger)
    }
}
