import Foundation
import Hummingbird
import Logging
import PlanRouterCore

/// The NexHealth emulator over HTTP: the API at the root (as `https://nexhealth.info`), and
/// the emulator's own control surface under `/_emulator` (faults, processing insertions,
/// reading the PMS's appointments).
public enum NexHealthServer {
    public static func router(_ emulator: NexHealthEmulator) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let api: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            let body = try await request.body.collect(upTo: 1 << 20)
            return OpenDentalServer.response(
                emulator.handle(
                    method: request.method.rawValue, path: request.uri.path, query: query, authorization: request.headers[.authorization],
                    body: Array(buffer: body)))
        }
        for path in ["/authenticates", "/appointments"] { router.post(RouterPath(path), use: api) }
        for path in ["/appointments", "/patients/:id", "/treatment_plans/:id"] { router.get(RouterPath(path), use: api) }
        router.patch("/appointments/:id", use: api)
        router.post("/_emulator/faults") { request, _ in
            let json = try await OpenDentalServer.body(request)
            guard let status = json["status"]?.intValue else { return OpenDentalServer.response(.error(400, "status is required")) }
            emulator.inject(
                .init(
                    status: status, retryAfterSeconds: json["retry_after"]?.intValue, method: json["method"]?.stringValue,
                    pathPrefix: json["path_prefix"]?.stringValue, count: json["count"]?.intValue ?? 1))
            return OpenDentalServer.response(.json(204, .null))
        }
        router.post("/_emulator/insertions/:subdomain") { _, context in
            await emulator.processInsertions(subdomain: context.parameters.get("subdomain") ?? "")
            return OpenDentalServer.response(.json(204, .null))
        }
        router.get("/_emulator/appointments") { _, _ in OpenDentalServer.response(.json(200, .array(emulator.writtenAppointments))) }
        return router
    }

    public static func application(
        _ emulator: NexHealthEmulator, host: String = "127.0.0.1", port: Int, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: router(emulator), configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            logger: logger)
    }
}
