import Foundation
import Hummingbird
import Logging
import PlanRouterCore
import PlanRouterHTTP

/// Every route of the public (patient) surface, in one place: the router registers exactly
/// these, and a test checks `openapi/booking.yaml` against them. Coordinator tasks and
/// `/metrics` are on the staff surface (`PlanRouterStaff`), never here.
public enum BookingRoutes {
    public enum Endpoint: Sendable, CaseIterable {
        case bookingPage, book, calendar, reschedulePage, reschedule, health
    }

    public typealias Route = SurfaceRoute<Endpoint>

    public static let all: [Route] = [
        Route(method: .get, path: "/book/{token}", endpoint: .bookingPage),
        Route(method: .post, path: "/book/{token}", endpoint: .book),
        Route(method: .get, path: "/calendar/{token}", endpoint: .calendar),
        Route(method: .get, path: "/reschedule/{token}", endpoint: .reschedulePage),
        Route(method: .post, path: "/reschedule/{token}", endpoint: .reschedule),
        Route(method: .get, path: "/healthz", endpoint: .health),
    ]
}

/// The HTTP face of `BookingService`: the public surface.
public enum BookingRouter {
    /// `webhooks`: the providers' webhooks (Sources/PlanRouterBooking/Webhooks), when configured.
    public static func make(
        _ service: BookingService, webhooks: TwilioWebhooks? = nil, stripe: StripeWebhooks? = nil,
        nexhealth: NexHealthWebhook? = nil
    ) -> Router<BasicRequestContext> {
        // HEAD is answered wherever GET is (same status and headers, no body).
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        // HTTP request counts and durations through swift-metrics (recorded only where the
        // process bootstrapped a metrics backend: `planrouter serve` does; read on the staff port).
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: BodyLimitMiddleware(maximumBodyBytes: service.configuration.maximumBodyBytes))
        for route in BookingRoutes.all {
            router.on(route.routerPath, method: route.method, use: handler(route.endpoint, service))
        }
        webhooks?.register(on: router)
        stripe?.register(on: router)
        nexhealth?.register(on: router)
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    static func handler(_ endpoint: BookingRoutes.Endpoint, _ service: BookingService) -> Handler {
        switch endpoint {
        case .bookingPage: { request, context in await guarded(service) { try await bookingPage(request, context, service) } }
        case .book: { request, context in await guarded(service) { try await book(request, context, service) } }
        case .calendar: { request, context in await guarded(service) { try await calendar(request, context, service) } }
        case .reschedulePage:
            { request, context in await guarded(service) { try await reschedulePage(request, context, service) } }
        case .reschedule: { request, context in await guarded(service) { try await reschedule(request, context, service) } }
        case .health:
            { _, _ in
                await service.databaseAnswers() ? text(.ok, "ok\n") : text(.serviceUnavailable, "database unavailable\n")
            }
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
        guard let token = context.parameters.get("token") else { return notFound(asJSON) }
        guard let offer = try await service.offer(token: token) else {
            // A link used for a provisional booking leads to its deposit until it is paid or runs out.
            if let d = try await service.pendingDeposit(token: token) {
                return asJSON ? json(.ok, BookingPages.pendingDepositJSON(d), private: true) : html(.ok, BookingPages.pendingDeposit(d))
            }
            return notFound(asJSON)
        }
        return asJSON ? json(.ok, BookingPages.offerJSON(offer), private: true) : html(.ok, BookingPages.offer(offer))
    }

    static func book(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let asJSON = wantsJSON(request)
        guard let token = context.parameters.get("token") else { return notFound(asJSON) }
        // Only what the page's form and the JSON API send: anything else is not a booking.
        if let refused = refuseUnlessFormOrJSON(request, asJSON: asJSON) { return refused }
        guard let body = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes) else {
            return asJSON
                ? json(.badRequest, .object(["error": "bad_request", "message": "reservation_id is required"]))
                : html(.badRequest, BookingPages.page(title: "Bad request", body: "<h1>Please choose one of the times offered.</h1>"))
        }
        let noneWork = field("none_work", in: body, contentType: request.headers[.contentType])
        if noneWork == "later" {
            let round = field("round", in: body, contentType: request.headers[.contentType]).flatMap { Int($0) }
            switch try await service.showLater(token: token, round: round) {
            case .notFound: return notFound(asJSON)
            case .shown(let offer):
                return asJSON ? json(.ok, BookingPages.laterJSON(offer), private: true) : html(.ok, BookingPages.offer(offer))
            }
        }
        if noneWork == "call" {
            switch try await service.callBack(token: token) {
            case .notFound: return notFound(asJSON)
            case .requested(let offer):
                return asJSON
                    ? json(.ok, BookingPages.callRequestedJSON(offer), private: true) : html(.ok, BookingPages.callRequested(offer))
            }
        }
        guard let reservationID = reservationID(in: body, contentType: request.headers[.contentType]) else {
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

    /// A confirmation's calendar link: the case's booking as an .ics download; every bad link the one 404.
    static func calendar(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        guard let token = context.parameters.get("token"), let ics = try await service.calendar(token: token) else {
            return notFound(false)
        }
        var headers = HTTPResponses.headers("text/calendar; charset=utf-8", private: true)
        headers[.contentDisposition] = "attachment; filename=\"appointment.ics\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: ics)))
    }

    /// A confirmation's reschedule link: the appointment and openings to move it to; every bad link the one 404.
    static func reschedulePage(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let asJSON = wantsJSON(request)
        guard let token = context.parameters.get("token") else { return notFound(asJSON) }
        return rescheduleResponse(try await service.reschedule(token: token), asJSON: asJSON)
    }

    /// 415 for a body that is neither the page's form nor JSON; nil when it is one of them.
    static func refuseUnlessFormOrJSON(_ request: Request, asJSON: Bool) -> Response? {
        switch RequestMediaType(request) {
        case .json, .form: return nil
        case .other, .missing:
            return asJSON
                ? json(.unsupportedMediaType, .object(["error": "unsupported_media_type", "message": "send a form or application/json"]))
                : html(
                    .unsupportedMediaType,
                    BookingPages.page(title: "Unsupported request", body: "<h1>Please choose one of the times offered.</h1>"))
        }
    }

    /// Moves the booking to the chosen held opening (`reservation_id`, form or JSON).
    static func reschedule(_ request: Request, _ context: BasicRequestContext, _ service: BookingService) async throws -> Response {
        let asJSON = wantsJSON(request)
        guard let token = context.parameters.get("token") else { return notFound(asJSON) }
        if let refused = refuseUnlessFormOrJSON(request, asJSON: asJSON) { return refused }
        guard let body = try? await request.body.collect(upTo: service.configuration.maximumBodyBytes),
            let reservationID = reservationID(in: body, contentType: request.headers[.contentType])
        else {
            return asJSON
                ? json(.badRequest, .object(["error": "bad_request", "message": "reservation_id is required"]))
                : html(.badRequest, BookingPages.page(title: "Bad request", body: "<h1>Please choose one of the times offered.</h1>"))
        }
        return rescheduleResponse(try await service.move(token: token, reservationID: reservationID), asJSON: asJSON)
    }

    static func rescheduleResponse(_ result: RescheduleResult, asJSON: Bool) -> Response {
        switch result {
        case .notFound: return notFound(asJSON)
        case .shown(let v):
            return asJSON ? json(.ok, BookingPages.rescheduleJSON(v), private: true) : html(.ok, BookingPages.reschedule(v))
        case .conflict(let v):
            return asJSON
                ? json(.conflict, BookingPages.rescheduleJSON(v, error: "opening_unavailable"), private: true)
                : html(.conflict, BookingPages.reschedule(v, unavailable: true))
        case .moved(let v):
            return asJSON ? json(.ok, BookingPages.rescheduleJSON(v, moved: true), private: true) : html(.ok, BookingPages.moved(v))
        }
    }

    /// `reservation_id` from a form (`reservation_id=12`) or JSON (`{"reservation_id": 12}` or `"12"`).
    static func reservationID(in body: ByteBuffer, contentType: String?) -> Int64? {
        field("reservation_id", in: body, contentType: contentType).flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// A field of a form or of a JSON object (a JSON number as its digits).
    static func field(_ name: String, in body: ByteBuffer, contentType: String?) -> String? {
        let text = String(buffer: body)
        if contentType?.lowercased().hasPrefix("application/json") == true {
            guard let v = try? JSONParser.parse(text), let value = v[name] else { return nil }
            return value.stringValue ?? value.int64Value.map(String.init)
        }
        return FormFields.parse(text)[name]
    }

    /// One answer for forged, expired, unknown and used links alike.
    static func notFound(_ asJSON: Bool) -> Response {
        asJSON ? json(.notFound, BookingPages.notFoundJSON, private: true) : html(.notFound, BookingPages.notFound)
    }

    // MARK: Responses

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response { HTTPResponses.html(status, page) }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, private: Bool = false) -> Response {
        HTTPResponses.json(status, value, private: `private`)
    }

    static func text(_ status: HTTPResponse.Status, _ s: String) -> Response { HTTPResponses.text(status, s) }
}

/// The public surface's HTTP server; a `Service` to run in a `ServiceGroup`.
public enum BookingServer {
    public static func application(
        _ service: BookingService, host: String, port: Int, limits: HTTPLimits, webhooks: TwilioWebhooks? = nil,
        stripe: StripeWebhooks? = nil, nexhealth: NexHealthWebhook? = nil, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        HTTPSurfaceServer.application(
            responder: BookingRouter.make(service, webhooks: webhooks, stripe: stripe, nexhealth: nexhealth).buildResponder(), host: host,
            port: port,
            limits: limits,
            logger: logger)
    }
}
