import Foundation
import Hummingbird
import Logging
import PlanRouterCore

/// The emulator over HTTP: the API under `/api/v1` (as `https://api.opendental.com/api/v1`),
/// and a small control surface under `/_emulator` for the simulator and manual runs
/// (faults, the server clock, disabling a key, reading appointments). The control surface is
/// the emulator's own, not Open Dental's.
public enum OpenDentalServer {
    /// `latency`: added to every API answer, as a PMS across the internet takes (benchmarks); none by default.
    public static func router(_ emulator: OpenDentalEmulator, latency: Duration = .zero) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let api: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            if latency > .zero { try await Task.sleep(for: latency) }
            var query: [String: String] = [:]
            for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let path = String(request.uri.path.dropFirst("/api/v1".count))
            return response(
                emulator.handle(
                    method: request.method.rawValue, path: path, query: query, authorization: request.headers[.authorization],
                    body: Array(buffer: body)))
        }
        router.get("/api/v1/**", use: api)
        router.post("/api/v1/**", use: api)
        router.put("/api/v1/**", use: api)
        router.delete("/api/v1/**", use: api)

        router.post("/_emulator/faults") { request, _ in
            let json = try await body(request)
            guard let status = json["status"]?.intValue else { return response(.error(400, "status is required")) }
            emulator.inject(
                OpenDentalEmulator.Fault(
                    status: status, retryAfterSeconds: json["retry_after"]?.intValue, customerKey: json["customer_key"]?.stringValue,
                    method: json["method"]?.stringValue, pathPrefix: json["path_prefix"]?.stringValue,
                    afterCommit: json["after_commit"]?.boolValue ?? false, count: json["count"]?.intValue ?? 1))
            return response(.json(204, .null))
        }
        router.post("/_emulator/offices/:key/enabled") { request, context in
            let json = try await body(request)
            guard let key = context.parameters.get("key"), let enabled = json["enabled"]?.boolValue else {
                return response(.error(400, "enabled is required"))
            }
            emulator.setEnabled(enabled, customerKey: key)
            return response(.json(204, .null))
        }
        router.get("/_emulator/offices/:key/appointments") { _, context in
            guard let key = context.parameters.get("key"), let office = emulator.office(key) else {
                return response(.error(404, "no office"))
            }
            let rows = emulator.scheduledAppointments(key).map {
                $0.json(in: office.timeZone, server: emulator.now, procDescript: "")
            }
            return response(.json(200, .array(rows)))
        }
        router.get("/_emulator/requests") { _, _ in
            response(
                .json(200, .object(JSONObject(emulator.requestCounts().sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })))
            )
        }
        addPracticeRoutes(router, emulator)
        return router
    }

    public static func application(
        _ emulator: OpenDentalEmulator, host: String = "127.0.0.1", port: Int, latency: Duration = .zero, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: router(emulator, latency: latency),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            logger: logger)
    }

    static func body(_ request: Request) async throws -> JSONValue {
        let bytes = try await request.body.collect(upTo: 1 << 16)
        return (try? JSONParser.parse(Array(buffer: bytes))) ?? .object([:])
    }

    static func response(_ r: EmulatorResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in r.headers {
            switch name {
            case "Content-Type": headers[.contentType] = value
            case "Retry-After": headers[.retryAfter] = value
            case "Location": headers[.location] = value
            default: continue
            }
        }
        return Response(
            status: HTTPResponse.Status(code: r.status), headers: headers,
            body: r.status == 204 ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: r.body)))
    }
}
