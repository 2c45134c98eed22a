import Foundation
import Hummingbird
import Logging
import PlanRouterTelemetry

/// The HTTP face of a worker process: `/healthz` (the process answers), `/readyz`
/// (the database answers `SELECT 1` within 2 s and every loop runs) and `/metrics`
/// (Prometheus text). Added to the worker's `ServiceGroup` next to its loops.
public enum WorkerHTTPServer {
    public static let routes = ["/healthz", "/readyz", "/metrics"]

    public static func router(_ metrics: WorkerMetrics) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/healthz") { _, _ in text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in
            guard metrics.loopsRunning else { return text(.serviceUnavailable, "worker loop not running\n") }
            guard await metrics.databaseAnswers() else { return text(.serviceUnavailable, "database unavailable\n") }
            // Ready; plus what an operator should know (e.g. locations whose calendars are stale).
            return text(.ok, (["ready"] + (await metrics.readinessDetail())).joined(separator: "\n") + "\n")
        }
        router.get("/metrics") { _, _ in
            text(.ok, await metrics.text(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        return router
    }

    public static func application(
        _ metrics: WorkerMetrics, host: String, port: Int, logger: Logger
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: router(metrics), configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            logger: logger)
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
